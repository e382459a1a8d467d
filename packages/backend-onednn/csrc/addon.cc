// The N-API glue: one `launch(kernel, b0…b4, params)` entry that decodes the typed arrays (float32 / int32
// buffers, null where a kernel takes fewer) and the Float64Array of metadata, runs the kernel synchronously
// on this thread and the OpenMP team, and turns a kernel's error into a JS Error whose `op` names it.
#include <napi.h>
#include <omp.h>

#include <dnnl.hpp>

#include "kernels.h"

namespace tessera {
namespace {

const KernelFn kTable[K_COUNT] = {
    fill,      unary,         binary,      copy,          reduce,     argReduce,         matmul,         conv2d,    conv2dBackwardInput,
    conv2dBackwardFilter,     maxPool2d,   maxPool2dBackward,         avgPool2d,         avgPool2dBackward,          adaptiveAvgPool2d,
    adaptiveAvgPool2dBackward, lrn,        lrnBackward, softmax,      crossEntropy,      crossEntropyBackward,       random,
    gather,    gatherBackward, oneHot,     topk,          sgdUpdate,
};

Buf decode(const Napi::Value& v) {
  Buf b;
  if (v.IsNull() || v.IsUndefined()) return b;
  if (!v.IsTypedArray()) throw KernelError("buffers must be typed arrays");
  auto ta = v.As<Napi::TypedArray>();
  const auto type = ta.TypedArrayType();
  if (type == napi_float32_array) b.dtype = F32;
  else if (type == napi_int32_array) b.dtype = I32;
  else throw KernelError("buffers must be Float32Array or Int32Array");
  b.size = static_cast<int64_t>(ta.ElementLength());
  b.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  b.present = true;
  return b;
}

Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int id = info[0].As<Napi::Number>().Int32Value();
  try {
    if (id < 0 || id >= K_COUNT) throw KernelError("unknown kernel id " + std::to_string(id));
    Buf bufs[kMaxBuffers];
    for (int i = 0; i < kMaxBuffers; i++) bufs[i] = decode(info[1 + i]);
    auto params = info[1 + kMaxBuffers].As<Napi::Float64Array>();
    Params p(params.Data(), params.ElementLength());
    kTable[id](bufs, p);
  } catch (const KernelError& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("kernelId", Napi::Number::New(env, id));
    throw err;
  } catch (const std::bad_alloc&) {
    Napi::Error err = Napi::Error::New(env, "out of host memory");
    err.Set("kernelId", Napi::Number::New(env, id));
    err.Set("outOfMemory", Napi::Boolean::New(env, true));
    throw err;
  }
  return env.Undefined();
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  out.Set("kernels", Napi::Number::New(env, K_COUNT));
  out.Set("dnnlVersion", Napi::String::New(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
  out.Set("threads", Napi::Number::New(env, omp_get_max_threads()));
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    default: isa = "other"; break;
  }
  out.Set("isa", Napi::String::New(env, isa));
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::Error::New(info.Env(), "threads must be at least 1");
  omp_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value CacheStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t primitives = 0, bytes = 0;
  primitiveCacheStats(primitives, bytes);
  auto out = Napi::Object::New(env);
  out.Set("primitives", Napi::Number::New(env, static_cast<double>(primitives)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
  return out;
}

Napi::Value ClearCache(const Napi::CallbackInfo& info) {
  clearPrimitiveCache();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("launch", Napi::Function::New(env, Launch));
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("cacheStats", Napi::Function::New(env, CacheStats));
  exports.Set("clearCache", Napi::Function::New(env, ClearCache));
  return exports;
}

}  // namespace
}  // namespace tessera

static Napi::Object InitTesseraOnednn(Napi::Env env, Napi::Object exports) { return tessera::Init(env, exports); }

NODE_API_MODULE(tessera_onednn, InitTesseraOnednn)
