// N-API glue (node-addon-api): device setup, the caching device allocator, pinned staging for host
// transfers, asynchronous reads and syncs that resolve Promises from a worker thread (never blocking Node's
// event loop), deferred kernel-side index errors, and one `launch` entry point for every kernel.
#include <cuda_runtime.h>
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "launch.h"

using namespace tessera;

namespace {

// ------------------------------------------------------------------ errors
std::string cudaMessage(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

/** A JS Error whose message the JS side wraps into TesseraError(op, message). */
Napi::Error opError(Napi::Env env, const std::string& op, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("op", Napi::String::New(env, op));
  return err;
}

const char* const KERNEL_NAMES[K_COUNT] = {"fill", "unary", "binary", "copy", "reduce", "argReduce", "matmul", "conv2d", "conv2dBackwardInput",
                                           "conv2dBackwardFilter", "maxPool2d", "maxPool2dBackward", "avgPool2d", "avgPool2dBackward",
                                           "adaptiveAvgPool2d", "adaptiveAvgPool2dBackward", "lrn", "lrnBackward", "softmax", "crossEntropy",
                                           "crossEntropyBackward", "random", "gather", "gatherBackward", "oneHot", "topk", "sgdUpdate"};

const KernelEntry KERNELS[K_COUNT] = {launch_fill,
                                      launch_unary,
                                      launch_binary,
                                      launch_copy,
                                      launch_reduce,
                                      launch_arg_reduce,
                                      launch_matmul,
                                      launch_conv2d,
                                      launch_conv2d_backward_input,
                                      launch_conv2d_backward_filter,
                                      launch_max_pool2d,
                                      launch_max_pool2d_backward,
                                      launch_avg_pool2d,
                                      launch_avg_pool2d_backward,
                                      launch_adaptive_avg_pool2d,
                                      launch_adaptive_avg_pool2d_backward,
                                      launch_lrn,
                                      launch_lrn_backward,
                                      launch_softmax,
                                      launch_cross_entropy,
                                      launch_cross_entropy_backward,
                                      launch_random,
                                      launch_gather,
                                      launch_gather_backward,
                                      launch_one_hot,
                                      launch_topk,
                                      launch_sgd_update};

/**
 * Size class of a request: 512-byte granules up to 1 MiB, then eight classes per octave, so a freed block
 * also serves somewhat smaller requests while wasting at most 12.5%.
 */
size_t sizeClass(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= (1u << 20)) return (bytes + 511) / 512 * 512;
  int lg = 63 - __builtin_clzll((unsigned long long)bytes);
  size_t step = (size_t)1 << (lg - 3);
  return (bytes + step - 1) / step * step;
}

// ------------------------------------------------------------------ device state
struct State {
  bool ready = false;
  int device = 0;
  cudaStream_t stream = nullptr;
  DeviceErrorRecord* errorsHost = nullptr;
  DeviceErrorRecord* errorsDevice = nullptr;
  bool tf32 = true;
  int smCount = 0;
  // Caching allocator. One stream orders all work, so a freed block can be handed out again at once.
  std::unordered_map<size_t, std::vector<void*>> freeBlocks;
  std::unordered_map<void*, size_t> liveBlocks;
  size_t bytesReserved = 0;  // everything obtained from cudaMalloc and not yet returned
  size_t bytesCached = 0;
  size_t mallocCalls = 0;
  // Pinned host staging, by size class; writes keep theirs until their event has passed.
  std::unordered_map<size_t, std::vector<void*>> freePinned;
  struct Pending {
    void* host;
    size_t bytes;
    cudaEvent_t event;
  };
  std::vector<Pending> pendingWrites;
  size_t pinnedCached = 0;
  std::vector<cudaEvent_t> freeEvents;
  const char* lastKernel = "none";
};

State S;
constexpr size_t PINNED_CACHE_LIMIT = (size_t)512 << 20;

std::string oomMessage(size_t request, size_t cls) {
  size_t freeB = 0, totalB = 0;
  cudaMemGetInfo(&freeB, &totalB);
  cudaGetLastError();
  char buf[400];
  snprintf(buf, sizeof buf,
           "out of device memory: requested %zu bytes (size class %zu); the device has %zu of %zu bytes free; tessera holds %zu bytes "
           "(%zu cached for reuse)",
           request, cls, freeB, totalB, S.bytesReserved, S.bytesCached);
  return buf;
}

void releaseCached() {
  for (auto& kv : S.freeBlocks)
    for (void* p : kv.second) {
      cudaFree(p);
      S.bytesReserved -= kv.first;
    }
  S.freeBlocks.clear();
  S.bytesCached = 0;
}

/** Returns a device block of at least `bytes`, or nullptr with *err set (the message from oomMessage). */
void* deviceAlloc(size_t bytes, cudaError_t* err) {
  const size_t cls = sizeClass(bytes);
  auto it = S.freeBlocks.find(cls);
  if (it != S.freeBlocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    S.bytesCached -= cls;
    S.liveBlocks[p] = cls;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, cls);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it, drop the cache and try once more
    releaseCached();
    e = cudaMalloc(&p, cls);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = e;
    return nullptr;
  }
  S.mallocCalls++;
  S.bytesReserved += cls;
  S.liveBlocks[p] = cls;
  return p;
}

bool deviceFree(void* p) {
  auto it = S.liveBlocks.find(p);
  if (it == S.liveBlocks.end()) return false;
  S.freeBlocks[it->second].push_back(p);
  S.bytesCached += it->second;
  S.liveBlocks.erase(it);
  return true;
}

void* scratchAlloc(size_t bytes, cudaError_t* err) { return deviceAlloc(bytes, err); }
void scratchFree(void* p) { deviceFree(p); }

cudaError_t takeEvent(cudaEvent_t* ev) {
  if (!S.freeEvents.empty()) {
    *ev = S.freeEvents.back();
    S.freeEvents.pop_back();
    return cudaSuccess;
  }
  // Blocking sync: a worker thread waiting on it sleeps instead of spinning a core.
  return cudaEventCreateWithFlags(ev, cudaEventDisableTiming | cudaEventBlockingSync);
}

void* takePinned(size_t bytes, cudaError_t* err) {
  const size_t cls = sizeClass(bytes);
  auto it = S.freePinned.find(cls);
  if (it != S.freePinned.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    S.pinnedCached -= cls;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaHostAlloc(&p, cls, cudaHostAllocDefault);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = e;
    return nullptr;
  }
  return p;
}

void givePinned(void* p, size_t bytes) {
  const size_t cls = sizeClass(bytes);
  if (S.pinnedCached + cls > PINNED_CACHE_LIMIT) {
    cudaFreeHost(p);
    return;
  }
  S.freePinned[cls].push_back(p);
  S.pinnedCached += cls;
}

/** Recycles the staging buffers of writes whose copies have finished. */
void reapWrites() {
  size_t keep = 0;
  for (size_t i = 0; i < S.pendingWrites.size(); i++) {
    State::Pending& w = S.pendingWrites[i];
    if (cudaEventQuery(w.event) == cudaSuccess) {
      givePinned(w.host, w.bytes);
      S.freeEvents.push_back(w.event);
    } else {
      S.pendingWrites[keep++] = w;
    }
  }
  S.pendingWrites.resize(keep);
  cudaGetLastError();  // cudaEventQuery's cudaErrorNotReady is not an error
}

LaunchContext context() {
  LaunchContext ctx;
  ctx.stream = S.stream;
  ctx.errors = S.errorsDevice;
  ctx.tf32 = S.tf32;
  ctx.smCount = S.smCount;
  ctx.scratchAlloc = scratchAlloc;
  ctx.scratchFree = scratchFree;
  return ctx;
}

void* ptrArg(const Napi::Value& v) { return (void*)(uintptr_t)(unsigned long long)v.As<Napi::Number>().DoubleValue(); }
Napi::Number ptrValue(Napi::Env env, void* p) { return Napi::Number::New(env, (double)(uintptr_t)p); }

void requireReady(Napi::Env env, const char* op) {
  if (!S.ready) throw opError(env, op, "the CUDA backend is not initialised (or has been disposed)");
}

/** The deferred error a kernel recorded, as (op, message); clears the record. Empty op when none. */
std::pair<std::string, std::string> takeDeviceError() {
  volatile DeviceErrorRecord* r = S.errorsHost;
  if (!r || r->code == 0) return {"", ""};
  const int op = r->op, value = r->value, position = r->position, bound = r->bound;
  r->code = 0;
  std::string name = op >= 0 && op < K_COUNT ? KERNEL_NAMES[op] : "kernel";
  char buf[200];
  if (op == K_CROSS_ENTROPY || op == K_CROSS_ENTROPY_BACKWARD) snprintf(buf, sizeof buf, "label %d at row %d is outside [0, %d)", value, position, bound);
  else snprintf(buf, sizeof buf, "index %d at position %d is outside [0, %d)", value, position, bound);
  return {name, buf};
}

// ------------------------------------------------------------------ async completion
/** Waits on an event in the libuv pool, then (on the main thread) copies out a read and settles a Promise. */
class Completion : public Napi::AsyncWorker {
 public:
  Completion(Napi::Env env, const char* op, cudaEvent_t ev, void* pinned, size_t bytes)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), op_(op), event_(ev), pinned_(pinned), bytes_(bytes) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    cudaSetDevice(S.device);
    status_ = cudaEventSynchronize(event_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_ != cudaSuccess) {
      release();
      deferred_.Reject(opError(env, op_, cudaMessage(status_) + " (the last kernel enqueued was " + S.lastKernel + ")").Value());
      return;
    }
    auto deviceError = takeDeviceError();
    if (!deviceError.first.empty()) {
      release();
      deferred_.Reject(opError(env, deviceError.first, deviceError.second).Value());
      return;
    }
    if (pinned_) {
      Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, bytes_);
      if (bytes_) memcpy(out.Data(), pinned_, bytes_);
      release();
      deferred_.Resolve(out);
    } else {
      release();
      deferred_.Resolve(env.Undefined());
    }
  }

  void OnError(const Napi::Error& e) override {
    release();
    deferred_.Reject(e.Value());
  }

 private:
  void release() {
    if (pinned_) givePinned(pinned_, bytes_);
    pinned_ = nullptr;
    if (event_) S.freeEvents.push_back(event_);
    event_ = nullptr;
  }
  Napi::Promise::Deferred deferred_;
  const char* op_;
  cudaEvent_t event_;
  void* pinned_;
  size_t bytes_;
  cudaError_t status_ = cudaSuccess;
};

// ------------------------------------------------------------------ exported functions
/** Facts known without touching a device: that the addon loaded, and what it was built with. */
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("runtimeVersionBuilt", Napi::Number::New(env, CUDART_VERSION));
  o.Set("kernels", Napi::Number::New(env, K_COUNT));
  int driver = 0;
  cudaError_t e = cudaDriverGetVersion(&driver);
  o.Set("driverVersion", Napi::Number::New(env, e == cudaSuccess ? driver : 0));
  cudaGetLastError();
  return o;
}

/** Initialises device `index`; throws an Error naming the CUDA error where there is no usable device. */
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int index = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 0;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw opError(env, "cuda", "cudaGetDeviceCount failed: " + cudaMessage(e));
  }
  if (count == 0) throw opError(env, "cuda", "cudaGetDeviceCount found no CUDA-capable device");
  if (index < 0 || index >= count) throw opError(env, "cuda", "device " + std::to_string(index) + " requested but " + std::to_string(count) + " present");
  if (!S.ready) {
    e = cudaSetDevice(index);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&S.stream, cudaStreamNonBlocking);
    void* rec = nullptr;
    if (e == cudaSuccess) e = cudaHostAlloc(&rec, sizeof(DeviceErrorRecord), cudaHostAllocMapped);
    if (e == cudaSuccess) {
      memset(rec, 0, sizeof(DeviceErrorRecord));
      S.errorsHost = (DeviceErrorRecord*)rec;
      e = cudaHostGetDevicePointer((void**)&S.errorsDevice, rec, 0);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw opError(env, "cuda", "initialising device " + std::to_string(index) + " failed: " + cudaMessage(e));
    }
    S.device = index;
    S.ready = true;
  }
  cudaDeviceProp prop;
  e = cudaGetDeviceProperties(&prop, S.device);
  if (e != cudaSuccess) throw opError(env, "cuda", "cudaGetDeviceProperties failed: " + cudaMessage(e));
  S.smCount = prop.multiProcessorCount;
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, prop.name));
  o.Set("computeCapability", Napi::String::New(env, std::to_string(prop.major) + "." + std::to_string(prop.minor)));
  o.Set("totalMemory", Napi::Number::New(env, (double)prop.totalGlobalMem));
  o.Set("multiProcessors", Napi::Number::New(env, prop.multiProcessorCount));
  o.Set("driverVersion", Napi::Number::New(env, driver));
  o.Set("runtimeVersion", Napi::Number::New(env, runtime));
  o.Set("deviceCount", Napi::Number::New(env, count));
  o.Set("device", Napi::Number::New(env, S.device));
  return o;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireReady(env, "alloc");
  const size_t bytes = (size_t)info[0].As<Napi::Number>().DoubleValue();
  cudaError_t err = cudaSuccess;
  void* p = deviceAlloc(bytes, &err);
  if (!p) {
    if (err == cudaErrorMemoryAllocation) throw opError(env, "alloc", oomMessage(bytes, sizeClass(bytes)));
    throw opError(env, "alloc", "cudaMalloc of " + std::to_string(bytes) + " bytes failed: " + cudaMessage(err));
  }
  return ptrValue(env, p);
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ready) return env.Undefined();  // after dispose everything is already gone
  if (!deviceFree(ptrArg(info[0]))) throw opError(env, "free", "not a live block of the CUDA allocator (freed twice?)");
  return env.Undefined();
}

/** write(ptr, typedArray): stages the data in pinned memory (so the caller may reuse it) and copies async. */
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireReady(env, "write");
  void* dst = ptrArg(info[0]);
  Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  const size_t bytes = ta.ByteLength();
  if (bytes == 0) return env.Undefined();
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  reapWrites();
  cudaError_t err = cudaSuccess;
  void* pinned = takePinned(bytes, &err);
  if (!pinned) {
    // No pinned memory to be had: a synchronous copy is still correct.
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, S.stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(S.stream);
    if (e != cudaSuccess) throw opError(env, "write", cudaMessage(e));
    return env.Undefined();
  }
  memcpy(pinned, src, bytes);
  cudaEvent_t ev;
  cudaError_t e = cudaMemcpyAsync(dst, pinned, bytes, cudaMemcpyHostToDevice, S.stream);
  if (e == cudaSuccess) e = takeEvent(&ev);
  if (e == cudaSuccess) e = cudaEventRecord(ev, S.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw opError(env, "write", "copy of " + std::to_string(bytes) + " bytes to the device failed: " + cudaMessage(e));
  }
  S.pendingWrites.push_back({pinned, bytes, ev});
  return env.Undefined();
}

/** read(ptr, bytes) → Promise<ArrayBuffer>, settled once every kernel enqueued before it has finished. */
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireReady(env, "read");
  void* src = ptrArg(info[0]);
  const size_t bytes = (size_t)info[1].As<Napi::Number>().DoubleValue();
  cudaError_t err = cudaSuccess;
  void* pinned = takePinned(bytes == 0 ? 1 : bytes, &err);
  if (!pinned) throw opError(env, "read", "pinned host allocation of " + std::to_string(bytes) + " bytes failed: " + cudaMessage(err));
  cudaEvent_t ev = nullptr;
  cudaError_t e = bytes ? cudaMemcpyAsync(pinned, src, bytes, cudaMemcpyDeviceToHost, S.stream) : cudaSuccess;
  if (e == cudaSuccess) e = takeEvent(&ev);
  if (e == cudaSuccess) e = cudaEventRecord(ev, S.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    givePinned(pinned, bytes == 0 ? 1 : bytes);
    throw opError(env, "read", cudaMessage(e) + " (the last kernel enqueued was " + S.lastKernel + ")");
  }
  Completion* c = new Completion(env, "read", ev, pinned, bytes);
  Napi::Promise p = c->promise();
  c->Queue();
  return p;
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireReady(env, "sync");
  cudaEvent_t ev = nullptr;
  cudaError_t e = takeEvent(&ev);
  if (e == cudaSuccess) e = cudaEventRecord(ev, S.stream);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw opError(env, "sync", cudaMessage(e) + " (the last kernel enqueued was " + S.lastKernel + ")");
  }
  Completion* c = new Completion(env, "sync", ev, nullptr, 0);
  Napi::Promise p = c->promise();
  c->Queue();
  return p;
}

/** launch(kernelId, args: Float64Array): enqueues one kernel; throws with the CUDA error of the launch. */
Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int id = info[0].As<Napi::Number>().Int32Value();
  if (id < 0 || id >= K_COUNT) throw opError(env, "launch", "unknown kernel id " + std::to_string(id));
  requireReady(env, KERNEL_NAMES[id]);
  Napi::Float64Array args = info[1].As<Napi::Float64Array>();
  S.lastKernel = KERNEL_NAMES[id];
  cudaError_t e = KERNELS[id](context(), args.Data());
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) throw opError(env, KERNEL_NAMES[id], "scratch memory: " + oomMessage(0, 0));
    throw opError(env, KERNEL_NAMES[id], "kernel launch failed: " + cudaMessage(e));
  }
  return env.Undefined();
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytesReserved", Napi::Number::New(env, (double)S.bytesReserved));
  o.Set("bytesCached", Napi::Number::New(env, (double)S.bytesCached));
  o.Set("mallocCalls", Napi::Number::New(env, (double)S.mallocCalls));
  o.Set("pinnedCached", Napi::Number::New(env, (double)S.pinnedCached));
  return o;
}

Napi::Value SetTf32(const Napi::CallbackInfo& info) {
  S.tf32 = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

/** Returns every cached block to the driver (live blocks are untouched). */
Napi::Value Trim(const Napi::CallbackInfo& info) {
  if (S.ready) {
    cudaStreamSynchronize(S.stream);
    releaseCached();
    cudaGetLastError();
  }
  return info.Env().Undefined();
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  if (!S.ready) return info.Env().Undefined();
  cudaStreamSynchronize(S.stream);
  reapWrites();
  for (auto& w : S.pendingWrites) {
    cudaFreeHost(w.host);
    cudaEventDestroy(w.event);
  }
  S.pendingWrites.clear();
  releaseCached();
  for (auto& kv : S.liveBlocks) cudaFree(kv.first);
  S.liveBlocks.clear();
  S.bytesReserved = 0;
  for (auto& kv : S.freePinned)
    for (void* p : kv.second) cudaFreeHost(p);
  S.freePinned.clear();
  S.pinnedCached = 0;
  for (cudaEvent_t ev : S.freeEvents) cudaEventDestroy(ev);
  S.freeEvents.clear();
  cudaFreeHost(S.errorsHost);
  S.errorsHost = nullptr;
  S.errorsDevice = nullptr;
  cudaStreamDestroy(S.stream);
  S.stream = nullptr;
  S.ready = false;
  cudaGetLastError();
  return info.Env().Undefined();
}

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("launch", Napi::Function::New(env, Launch));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("setTf32", Napi::Function::New(env, SetTf32));
  exports.Set("trim", Napi::Function::New(env, Trim));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  return exports;
}

}  // namespace

NODE_API_MODULE(tessera_cuda, InitModule)
