{
  "variables": {
    "cuda_home%": "/usr/local/cuda",
    "kernels_lib%": "build/cuda/libtessera_kernels.a"
  },
  "targets": [
    {
      "target_name": "tessera_cuda",
      "sources": ["csrc/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(cuda_home)/include", "csrc"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2"],
      "libraries": ["<(module_root_dir)/<(kernels_lib)", "-L<(cuda_home)/lib64", "-lcudart_static", "-ldl", "-lrt", "-lpthread"]
    }
  ]
}
