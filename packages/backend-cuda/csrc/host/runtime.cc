// The CUDA runtime calls the addon makes, emulated on the host: device memory with an emulated capacity
// (TESSERA_CUDA_EMULATE_MEMORY bytes, default 4 GiB) so the out-of-memory path can be exercised; pinned and
// mapped host memory (plain host memory: the "device" shares the address space); streams as one worker
// thread each, running kernels, copies and memsets in order; events that complete when the stream reaches
// them. A faulting kernel makes the error sticky, as a device fault is, with the fault's description.
#include <stdio.h>
#include <stdlib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "cuda_runtime.h"
#include "emulator.h"

struct CUstream_st {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
  unsigned long long submitted = 0, completed = 0;
  bool stop = false;
  std::thread worker;
};

struct CUevent_st {
  CUstream_st* stream = nullptr;
  unsigned long long target = 0;
};

namespace {

std::mutex stateMu;
thread_local cudaError_t lastError = cudaSuccess;
cudaError_t stickyError = cudaSuccess;  // guarded by stateMu
std::string faultDescription;           // guarded by stateMu
std::unordered_map<void*, size_t> deviceBlocks;
size_t deviceUsed = 0;

size_t deviceCapacity() {
  static const size_t capacity = [] {
    const char* v = getenv("TESSERA_CUDA_EMULATE_MEMORY");
    if (v && *v) {
      char* end = nullptr;
      const unsigned long long n = strtoull(v, &end, 10);
      if (end && *end == '\0' && n > 0) return (size_t)n;
      fprintf(stderr, "tessera CUDA emulator: ignoring TESSERA_CUDA_EMULATE_MEMORY=%s (expected a byte count)\n", v);
    }
    return (size_t)4 << 30;
  }();
  return capacity;
}

cudaError_t setError(cudaError_t e) {
  if (e != cudaSuccess) lastError = e;
  return e;
}

cudaError_t sticky() {
  std::lock_guard<std::mutex> lock(stateMu);
  return stickyError;
}

void workerLoop(CUstream_st* s) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(s->mu);
      s->cv.wait(lock, [&] { return s->stop || !s->queue.empty(); });
      if (s->queue.empty()) return;
      task = std::move(s->queue.front());
      s->queue.pop_front();
    }
    if (sticky() == cudaSuccess) task();  // after a fault the device runs nothing more
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->completed++;
    }
    s->cv.notify_all();
  }
}

CUstream_st* newStream() {
  CUstream_st* s = new CUstream_st();
  s->worker = std::thread(workerLoop, s);
  return s;
}

CUstream_st* resolve(cudaStream_t s) {
  static CUstream_st* legacy = newStream();  // the default stream; never destroyed
  return s ? s : legacy;
}

void submit(CUstream_st* s, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->queue.push_back(std::move(task));
    s->submitted++;
  }
  s->cv.notify_all();
}

void waitFor(CUstream_st* s, unsigned long long target) {
  std::unique_lock<std::mutex> lock(s->mu);
  s->cv.wait(lock, [&] { return s->completed >= target; });
}

std::mutex streamsMu;
std::unordered_map<CUstream_st*, bool> streams;

void syncAllStreams() {
  std::vector<CUstream_st*> all;
  {
    std::lock_guard<std::mutex> lock(streamsMu);
    for (auto& kv : streams) all.push_back(kv.first);
  }
  all.push_back(resolve(nullptr));
  for (CUstream_st* s : all) {
    unsigned long long target;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      target = s->submitted;
    }
    waitFor(s, target);
  }
}

}  // namespace

namespace tessera_host {

cudaError_t enqueue_kernel(const char* name, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream, KernelBody* body) {
  const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
  const bool ok = threads >= 1 && threads <= 1024 && block.z <= 64 && grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 2147483647u && grid.y <= 65535 &&
                  grid.z <= 65535 && sharedBytes == 0;
  if (!ok) {
    delete body;
    return setError(cudaErrorInvalidConfiguration);
  }
  std::string label = name;
  submit(resolve(stream), [label, grid, block, body] {
    const std::string fault = execute_grid(label.c_str(), grid, block, body);
    delete body;
    if (!fault.empty()) {
      fprintf(stderr, "tessera CUDA emulator: device fault in %s\n", fault.c_str());
      std::lock_guard<std::mutex> lock(stateMu);
      if (stickyError == cudaSuccess) {
        stickyError = cudaErrorLaunchFailure;
        faultDescription = fault;
      }
    }
  });
  return cudaSuccess;
}

}  // namespace tessera_host

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory (emulated device capacity)";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: {
      static thread_local std::string text;
      std::lock_guard<std::mutex> lock(stateMu);
      text = "unspecified launch failure" + (faultDescription.empty() ? std::string() : " (emulator: " + faultDescription + ")");
      return text.c_str();
    }
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t s = sticky();
  if (s != cudaSuccess) return s;
  const cudaError_t e = lastError;
  lastError = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  const cudaError_t s = sticky();
  return s != cudaSuccess ? s : lastError;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : setError(cudaErrorInvalidDevice); }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return setError(cudaErrorInvalidDevice);
  memset(prop, 0, sizeof *prop);
  snprintf(prop->name, sizeof prop->name, "tessera CUDA host emulator (kernels run on the CPU; for tests, not speed)");
  prop->totalGlobalMem = deviceCapacity();
  prop->sharedMemPerBlock = 48 * 1024;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  // An A100's figures, so tile and split-K choices take the same paths as on a real device.
  prop->major = 8;
  prop->minor = 0;
  prop->multiProcessorCount = 108;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  std::lock_guard<std::mutex> lock(stateMu);
  if (stickyError != cudaSuccess) return stickyError;
  const size_t rounded = (bytes + 255) / 256 * 256;
  if (rounded > deviceCapacity() - deviceUsed) return setError(cudaErrorMemoryAllocation);
  // Exactly `bytes` (at least 1) from the host heap, so the sanitizer build sees any access past the end;
  // the capacity is charged in 256-byte units, as a device allocator aligns.
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) return setError(cudaErrorMemoryAllocation);
  deviceBlocks[p] = rounded;
  deviceUsed += rounded;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  syncAllStreams();  // as on a device, cudaFree waits for work that may still use the block
  std::lock_guard<std::mutex> lock(stateMu);
  auto it = deviceBlocks.find(ptr);
  if (it == deviceBlocks.end()) return setError(cudaErrorInvalidDevicePointer);
  deviceUsed -= it->second;
  deviceBlocks.erase(it);
  free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  std::lock_guard<std::mutex> lock(stateMu);
  *totalBytes = deviceCapacity();
  *freeBytes = deviceCapacity() - deviceUsed;
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  *ptr = malloc(bytes == 0 ? 1 : bytes);
  return *ptr ? cudaSuccess : setError(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* ptr) {
  syncAllStreams();
  free(ptr);
  return cudaSuccess;
}

cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned) {
  *device = host;  // one address space
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return setError(cudaErrorInvalidValue);
  submit(resolve(stream), [dst, src, bytes] { memcpy(dst, src, bytes); });
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!dst) return setError(cudaErrorInvalidValue);
  submit(resolve(stream), [dst, value, bytes] { memset(dst, value, bytes); });
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  CUstream_st* s = newStream();
  std::lock_guard<std::mutex> lock(streamsMu);
  streams[s] = true;
  *stream = s;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return setError(cudaErrorInvalidResourceHandle);
  {
    std::lock_guard<std::mutex> lock(streamsMu);
    if (!streams.erase(stream)) return setError(cudaErrorInvalidResourceHandle);
  }
  {
    std::lock_guard<std::mutex> lock(stream->mu);
    stream->stop = true;
  }
  stream->cv.notify_all();
  stream->worker.join();  // drains the queue first
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  CUstream_st* s = resolve(stream);
  unsigned long long target;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    target = s->submitted;
  }
  waitFor(s, target);
  return setError(sticky());
}

cudaError_t cudaDeviceSynchronize() {
  syncAllStreams();
  return setError(sticky());
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  *event = new CUevent_st();
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event) return setError(cudaErrorInvalidResourceHandle);
  CUstream_st* s = resolve(stream);
  std::lock_guard<std::mutex> lock(s->mu);
  event->stream = s;
  event->target = s->submitted;
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (!event) return setError(cudaErrorInvalidResourceHandle);
  if (!event->stream) return cudaSuccess;
  std::lock_guard<std::mutex> lock(event->stream->mu);
  if (event->stream->completed < event->target) return setError(cudaErrorNotReady);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event) return setError(cudaErrorInvalidResourceHandle);
  if (event->stream) waitFor(event->stream, event->target);
  return sticky();
}
