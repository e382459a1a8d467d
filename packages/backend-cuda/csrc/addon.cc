// N-API glue (node-addon-api): device setup, raw cudaMalloc/cudaFree primitives for the JS side's BufferPool
// (@tessera/tensor/backend: size classes, reuse, the out-of-memory retry), a grow-only kernel scratch block,
// pinned staging for host transfers, asynchronous reads and syncs that resolve Promises from a worker thread
// (never blocking Node's event loop), deferred kernel-side index errors, and one `launch` entry point.
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

// ------------------------------------------------------------------ device state
struct State {
  bool ready = false;
  int device = 0;
  cudaStream_t stream = nullptr;
  DeviceErrorRecord* errorsHost = nullptr;
  DeviceErrorRecord* errorsDevice = nullptr;
  bool tf32 = true;
  int smCount = 0;
  // Device blocks handed to the JS side's BufferPool (which owns reuse and accounting), by size.
  std::unordered_map<void*, size_t> rawBlocks;
  size_t bytesReserved = 0;  // everything obtained from cudaMalloc and not yet returned, scratch included
  size_t mallocCalls = 0;
  // Kernel scratch (split-K partials): one grow-only block. Every user is ordered by the one stream and
  // frees it right after enqueuing its last use, so it is never wanted twice at once.
  void* scratch = nullptr;
  size_t scratchBytes = 0;
  bool scratchTaken = false;
  // Pinned host staging: freed buffers kept (up to PINNED_CACHE_LIMIT) and reused by the smallest that fits;
  // writes keep theirs until their event has passed.
  std::vector<std::pair<void*, size_t>> freePinned;
  std::unordered_map<void*, size_t> pinnedSize;
  struct Pending {
    void* host;
    cudaEvent_t event;
  };
  std::vector<Pending> pendingWrites;
  size_t pinnedCached = 0;
  std::vector<cudaEvent_t> freeEvents;
  const char* lastKernel = "none";
};

State S;
constexpr size_t PINNED_CACHE_LIMIT = (size_t)512 << 20;
constexpr size_t PAGE = 4096;

std::string memorySummary() {
  size_t freeB = 0, totalB = 0;
  cudaMemGetInfo(&freeB, &totalB);
  cudaGetLastError();
  char buf[300];
  snprintf(buf, sizeof buf, "the device has %zu of %zu bytes free; tessera holds %zu bytes from cudaMalloc (%zu of them kernel scratch)", freeB, totalB,
           S.bytesReserved, S.scratchBytes);
  return buf;
}

/** cudaMalloc, counted; nullptr with *err set on failure (the sticky-free error is cleared). */
void* rawMalloc(size_t bytes, cudaError_t* err) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = e;
    return nullptr;
  }
  S.mallocCalls++;
  S.bytesReserved += bytes;
  return p;
}

void rawFree(void* p, size_t bytes) {
  cudaFree(p);
  cudaGetLastError();
  S.bytesReserved -= bytes;
}

void* scratchAlloc(size_t bytes, cudaError_t* err) {
  if (S.scratchTaken) {
    *err = cudaErrorInvalidValue;  // a kernel entry asked twice before freeing: a bug in the entry
    return nullptr;
  }
  if (bytes > S.scratchBytes) {
    if (S.scratch) rawFree(S.scratch, S.scratchBytes);  // cudaFree waits for work still using it
    S.scratch = nullptr;
    S.scratchBytes = 0;
    const size_t grown = (bytes + PAGE - 1) / PAGE * PAGE;
    void* p = rawMalloc(grown, err);
    if (!p) return nullptr;
    S.scratch = p;
    S.scratchBytes = grown;
  }
  S.scratchTaken = true;
  return S.scratch;
}

void scratchFree(void*) { S.scratchTaken = false; }

void releaseScratch() {
  if (S.scratch) rawFree(S.scratch, S.scratchBytes);
  S.scratch = nullptr;
  S.scratchBytes = 0;
}

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
  size_t best = S.freePinned.size();
  for (size_t i = 0; i < S.freePinned.size(); i++)
    if (S.freePinned[i].second >= bytes && (best == S.freePinned.size() || S.freePinned[i].second < S.freePinned[best].second)) best = i;
  if (best < S.freePinned.size()) {
    void* p = S.freePinned[best].first;
    S.pinnedCached -= S.freePinned[best].second;
    S.freePinned.erase(S.freePinned.begin() + (long)best);
    return p;
  }
  const size_t rounded = (bytes + PAGE - 1) / PAGE * PAGE;
  void* p = nullptr;
  cudaError_t e = cudaHostAlloc(&p, rounded == 0 ? PAGE : rounded, cudaHostAllocDefault);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = e;
    return nullptr;
  }
  S.pinnedSize[p] = rounded == 0 ? PAGE : rounded;
  return p;
}

void givePinned(void* p) {
  const size_t size = S.pinnedSize[p];
  if (S.pinnedCached + size > PINNED_CACHE_LIMIT) {
    // Over the limit: drop the smallest cached buffers first would churn; dropping this one is enough.
    cudaFreeHost(p);
    S.pinnedSize.erase(p);
    return;
  }
  S.freePinned.push_back({p, size});
  S.pinnedCached += size;
}

/** Recycles the staging buffers of writes whose copies have finished. */
void reapWrites() {
  size_t keep = 0;
  for (size_t i = 0; i < S.pendingWrites.size(); i++) {
    State::Pending& w = S.pendingWrites[i];
    if (cudaEventQuery(w.event) == cudaSuccess) {
      givePinned(w.host);
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
    if (pinned_) givePinned(pinned_);
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
#ifdef TESSERA_HOST_EMULATION
  o.Set("emulated", Napi::Boolean::New(env, true));
#else
  o.Set("emulated", Napi::Boolean::New(env, false));
#endif
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
#ifdef TESSERA_HOST_EMULATION
  o.Set("emulated", Napi::Boolean::New(env, true));
#else
  o.Set("emulated", Napi::Boolean::New(env, false));
#endif
  return o;
}

/**
 * malloc(bytes) → device address: one cudaMalloc, for the JS side's BufferPool (size classes, reuse and
 * accounting live there). Out of memory throws an Error with code 'cudaErrorMemoryAllocation', the signal
 * the pool answers by dropping its cache and retrying once.
 */
Napi::Value Malloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireReady(env, "alloc");
  const size_t bytes = (size_t)info[0].As<Napi::Number>().DoubleValue();
  cudaError_t err = cudaSuccess;
  void* p = rawMalloc(bytes, &err);
  if (!p) {
    Napi::Error e = opError(env, "alloc", "cudaMalloc of " + std::to_string(bytes) + " bytes failed: " + cudaMessage(err) + "; " + memorySummary());
    e.Set("code", Napi::String::New(env, cudaGetErrorName(err)));
    throw e;
  }
  S.rawBlocks[p] = bytes;
  return ptrValue(env, p);
}

/** cudaFree of a block from malloc (waits, as cudaFree does, for work that may still use it). */
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ready) return env.Undefined();  // after dispose everything is already gone
  void* p = ptrArg(info[0]);
  auto it = S.rawBlocks.find(p);
  if (it == S.rawBlocks.end()) throw opError(env, "free", "not a live block of the CUDA allocator (freed twice?)");
  rawFree(p, it->second);
  S.rawBlocks.erase(it);
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
  S.pendingWrites.push_back({pinned, ev});
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
    givePinned(pinned);
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
    if (e == cudaErrorMemoryAllocation) {
      Napi::Error err = opError(env, KERNEL_NAMES[id], "kernel scratch memory: " + cudaMessage(e) + "; " + memorySummary());
      err.Set("code", Napi::String::New(env, cudaGetErrorName(e)));
      throw err;
    }
    throw opError(env, KERNEL_NAMES[id], "kernel launch failed: " + cudaMessage(e));
  }
  return env.Undefined();
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytesReserved", Napi::Number::New(env, (double)S.bytesReserved));
  o.Set("scratchBytes", Napi::Number::New(env, (double)S.scratchBytes));
  o.Set("mallocCalls", Napi::Number::New(env, (double)S.mallocCalls));
  size_t freeB = 0, totalB = 0;
  if (S.ready && cudaMemGetInfo(&freeB, &totalB) != cudaSuccess) cudaGetLastError();
  o.Set("deviceFree", Napi::Number::New(env, (double)freeB));
  o.Set("deviceTotal", Napi::Number::New(env, (double)totalB));
  o.Set("pinnedCached", Napi::Number::New(env, (double)S.pinnedCached));
  return o;
}

Napi::Value SetTf32(const Napi::CallbackInfo& info) {
  S.tf32 = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

/** Returns the kernel scratch and cached pinned staging (the JS pool trims its own blocks). */
Napi::Value Trim(const Napi::CallbackInfo& info) {
  if (S.ready) {
    cudaStreamSynchronize(S.stream);
    releaseScratch();
    reapWrites();
    for (auto& kv : S.freePinned) {
      cudaFreeHost(kv.first);
      S.pinnedSize.erase(kv.first);
    }
    S.freePinned.clear();
    S.pinnedCached = 0;
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
  releaseScratch();
  for (auto& kv : S.rawBlocks) cudaFree(kv.first);
  S.rawBlocks.clear();
  S.bytesReserved = 0;
  for (auto& kv : S.freePinned) cudaFreeHost(kv.first);
  S.freePinned.clear();
  S.pinnedSize.clear();
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
  exports.Set("malloc", Napi::Function::New(env, Malloc));
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
