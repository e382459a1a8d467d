{
  "targets": [
    {
      "target_name": "tessera_onednn",
      "sources": [
        "csrc/addon.cc",
        "csrc/elementwise.cc",
        "csrc/reduce.cc",
        "csrc/softmax.cc",
        "csrc/dnnl_gemm.cc",
        "csrc/small_m_gemm.cc",
        "csrc/dnnl_conv.cc",
        "csrc/pool.cc",
        "csrc/lrn.cc",
        "csrc/random.cc",
        "csrc/gather.cc",
        "csrc/sgd.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "csrc"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fopenmp", "-ffp-contract=off", "-fno-math-errno", "-Wall"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
