// The grid executor of the host emulation: a launch's blocks run one after another; a block's threads are
// cooperative fibers (created once with makecontext, switched with _setjmp/_longjmp: no signal-mask
// syscall per switch). Scheduling is deterministic but interleaved: every runnable fiber runs to its next
// barrier or warp collective, in an order that changes with each barrier phase and each block (forward or
// reverse, rotated), so a missing __syncthreads makes a reader run before the writer it needed somewhere in
// the launch and gives wrong results.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <string>
#include <vector>

#include "cuda_runtime.h"
#include "emulator.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define TESSERA_ASAN 1
#endif

namespace tessera_host {

thread_local ThreadState* current_thread = nullptr;
thread_local uint3 current_block_idx = {0, 0, 0};
thread_local dim3 current_block_dim;
thread_local dim3 current_grid_dim;

namespace {

enum FiberState { RUNNABLE, AT_BARRIER, AT_WARP, DONE };

#ifdef TESSERA_ASAN
constexpr size_t STACK_BYTES = 512 * 1024;  // sanitizer redzones need room
#else
constexpr size_t STACK_BYTES = 128 * 1024;
#endif

struct Fiber {
  ThreadState ts;
  jmp_buf ctx;
  ucontext_t entry;
  char* stack = nullptr;  // mmap'd, with a guard page below
  bool started = false;
  FiberState state = DONE;
  uint64_t warpIn = 0, warpOut = 0;
#ifdef TESSERA_ASAN
  void* fakeStack = nullptr;
#endif
};

struct WarpWait {
  unsigned arrived = 0;
  void (*combine)(const uint64_t*, uint64_t*, unsigned, void*) = nullptr;
  void* ctx = nullptr;
};

/** Per stream worker thread: the fiber pool and the state of the block being run. */
struct Executor {
  std::vector<Fiber*> fibers;
  jmp_buf scheduler;
  Fiber* running = nullptr;
  KernelBody* body = nullptr;
  unsigned threads = 0;
  unsigned atBarrier = 0, done = 0;
  WarpWait warps[32];
  bool faulted = false;
  std::string fault;
#ifdef TESSERA_ASAN
  const void* schedStackBottom = nullptr;
  size_t schedStackSize = 0;
  void* schedFakeStack = nullptr;
#endif
};

thread_local Executor* executor = nullptr;

Executor& ex() {
  if (!executor) executor = new Executor();  // lives as long as its worker thread; never shared
  return *executor;
}

void enter_fiber_side(Fiber* f) {
#ifdef TESSERA_ASAN
  Executor& e = ex();
  __sanitizer_finish_switch_fiber(f->fakeStack, &e.schedStackBottom, &e.schedStackSize);
#else
  (void)f;
#endif
}

/** From inside a fiber back to the scheduler; returns when the scheduler resumes this fiber. */
void switch_to_scheduler(Fiber* f) {
  Executor& e = ex();
  if (!_setjmp(f->ctx)) {
#ifdef TESSERA_ASAN
    __sanitizer_start_switch_fiber(&f->fakeStack, e.schedStackBottom, e.schedStackSize);
#endif
    _longjmp(e.scheduler, 1);
  }
  enter_fiber_side(f);
}

void fiber_main() {
  Executor& e = ex();
  Fiber* f = e.running;
  enter_fiber_side(f);
  for (;;) {
    e.body->run();
    f->state = DONE;
    e.done++;
    switch_to_scheduler(f);
  }
}

Fiber* new_fiber() {
  Fiber* f = new Fiber();
  const size_t page = 4096;
  void* mem = mmap(nullptr, STACK_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    fprintf(stderr, "tessera CUDA emulator: cannot map a fiber stack\n");
    abort();
  }
  mprotect(mem, page, PROT_NONE);  // a stack overflow faults instead of corrupting a neighbour
  f->stack = static_cast<char*>(mem) + page;
  return f;
}

void prepare(Fiber* f) {
  getcontext(&f->entry);
  f->entry.uc_stack.ss_sp = f->stack;
  f->entry.uc_stack.ss_size = STACK_BYTES;
  f->entry.uc_link = nullptr;
  makecontext(&f->entry, fiber_main, 0);
  f->started = false;
}

/** Runs fiber f until it blocks or finishes the block. */
void resume(Fiber* f) {
  Executor& e = ex();
  e.running = f;
  current_thread = &f->ts;
  if (!_setjmp(e.scheduler)) {
#ifdef TESSERA_ASAN
    __sanitizer_start_switch_fiber(&e.schedFakeStack, f->stack, STACK_BYTES);
#endif
    if (!f->started) {
      f->started = true;
      static thread_local ucontext_t dummy;
      swapcontext(&dummy, &f->entry);  // first entry only; the fiber comes back by _longjmp
    } else {
      _longjmp(f->ctx, 1);
    }
  }
#ifdef TESSERA_ASAN
  __sanitizer_finish_switch_fiber(e.schedFakeStack, nullptr, nullptr);
#endif
  e.running = nullptr;
  current_thread = nullptr;
}

unsigned warp_active_mask(const Executor& e, unsigned warp) {
  unsigned mask = 0;
  for (unsigned l = 0; l < 32; l++) {
    const unsigned t = warp * 32 + l;
    if (t < e.threads && e.fibers[t]->state != DONE) mask |= 1u << l;
  }
  return mask;
}

void fail(Executor& e, const std::string& what) {
  if (!e.faulted) {
    e.faulted = true;
    e.fault = what;
  }
}

std::string where(const Fiber* f) {
  char buf[160];
  snprintf(buf, sizeof buf, "block (%u,%u,%u) thread (%u,%u,%u)", current_block_idx.x, current_block_idx.y, current_block_idx.z, f->ts.tid.x,
           f->ts.tid.y, f->ts.tid.z);
  return buf;
}

/** Runs one block to completion; false (with e.fault) when it faulted or deadlocked. */
bool run_block(unsigned blockLinear) {
  Executor& e = ex();
  for (unsigned t = 0; t < e.threads; t++) {
    Fiber* f = e.fibers[t];
    f->state = RUNNABLE;
    f->ts.linear = t;
    f->ts.lane = t % 32;
    f->ts.warp = t / 32;
    f->ts.tid = {t % current_block_dim.x, (t / current_block_dim.x) % current_block_dim.y, t / (current_block_dim.x * current_block_dim.y)};
  }
  e.atBarrier = 0;
  e.done = 0;
  for (auto& w : e.warps) w = WarpWait();
  unsigned phase = 0;
  for (;;) {
    bool ran = true;
    while (ran && !e.faulted) {
      ran = false;
      // The order changes with every barrier phase and every block: forward or reverse, rotated, so over a
      // launch each thread runs both before and after each other thread between two barriers.
      const unsigned turn = phase + blockLinear;
      const unsigned start = ((turn >> 1) * 97u) % e.threads;
      for (unsigned i = 0; i < e.threads && !e.faulted; i++) {
        const unsigned k = (start + i) % e.threads;
        Fiber* f = e.fibers[turn % 2 == 0 ? k : e.threads - 1 - k];
        if (f->state != RUNNABLE) continue;
        resume(f);
        ran = true;
        if (f->state == DONE) {
          const unsigned waiting = e.warps[f->ts.warp].arrived;
          if (waiting) fail(e, where(f) + " exited while lanes of its warp wait at a warp collective");
        }
      }
    }
    if (e.faulted) return false;
    if (e.done == e.threads) return true;
    bool warpWaiting = false;
    for (unsigned w = 0; w * 32 < e.threads; w++) warpWaiting |= e.warps[w].arrived != 0;
    if (!warpWaiting && e.atBarrier > 0 && e.atBarrier + e.done == e.threads) {
      for (unsigned t = 0; t < e.threads; t++)
        if (e.fibers[t]->state == AT_BARRIER) e.fibers[t]->state = RUNNABLE;
      e.atBarrier = 0;
      phase++;
      continue;
    }
    char buf[200];
    snprintf(buf, sizeof buf, "deadlock in block (%u,%u,%u): %u threads at __syncthreads, %u finished, others waiting at a warp collective", current_block_idx.x,
             current_block_idx.y, current_block_idx.z, e.atBarrier, e.done);
    fail(e, buf);
    return false;
  }
}

}  // namespace

void syncthreads() {
  Executor& e = ex();
  Fiber* f = e.running;
  if (!f) device_fault("__syncthreads outside a kernel");
  f->state = AT_BARRIER;
  e.atBarrier++;
  switch_to_scheduler(f);
}

static void no_combine(const uint64_t*, uint64_t* outs, unsigned, void*) {
  for (int l = 0; l < 32; l++) outs[l] = 0;
}

void syncwarp() { warp_collective(0, no_combine, nullptr); }

uint64_t warp_collective(uint64_t in, void (*combine)(const uint64_t*, uint64_t*, unsigned, void*), void* ctx) {
  Executor& e = ex();
  Fiber* f = e.running;
  if (!f) device_fault("a warp collective outside a kernel");
  WarpWait& w = e.warps[f->ts.warp];
  if (w.arrived == 0) {
    w.combine = combine;
    w.ctx = ctx;
  } else if (w.combine != combine) {
    device_fault("lanes of one warp are waiting at different warp collectives (divergent shuffle, vote, __syncwarp or wmma)");
  }
  f->warpIn = in;
  w.arrived |= 1u << f->ts.lane;
  const unsigned active = warp_active_mask(e, f->ts.warp);
  if ((w.arrived & active) == active) {
    uint64_t ins[32] = {}, outs[32] = {};
    for (unsigned l = 0; l < 32; l++) {
      const unsigned t = f->ts.warp * 32 + l;
      if (active & (1u << l)) ins[l] = e.fibers[t]->warpIn;
    }
    auto fn = w.combine;
    void* fctx = w.ctx;
    w = WarpWait();
    fn(ins, outs, active, fctx);
    for (unsigned l = 0; l < 32; l++) {
      if (!(active & (1u << l))) continue;
      Fiber* g = e.fibers[f->ts.warp * 32 + l];
      g->warpOut = outs[l];
      if (g != f) g->state = RUNNABLE;
    }
    return f->warpOut;
  }
  f->state = AT_WARP;
  switch_to_scheduler(f);
  return f->warpOut;
}

void shuffle_combine(const uint64_t* ins, uint64_t* outs, unsigned active, void* ctx) {
  const ShuffleArgs& a = *static_cast<const ShuffleArgs*>(ctx);
  const int width = a.width <= 0 || a.width > 32 ? 32 : a.width;
  for (int l = 0; l < 32; l++) {
    const int base = l / width * width, i = l - base;
    int src = l;
    switch (a.mode) {
      case 0: src = base + ((a.value % width) + width) % width; break;
      case 1: src = i - a.value >= 0 ? l - a.value : l; break;
      case 2: src = i + a.value < width ? l + a.value : l; break;
      case 3: src = base + ((i ^ a.value) % width); break;
    }
    outs[l] = (active & (1u << src)) ? ins[src] : ins[l];
  }
}

void ballot_combine(const uint64_t* ins, uint64_t* outs, unsigned active, void*) {
  unsigned bits = 0;
  for (int l = 0; l < 32; l++)
    if ((active & (1u << l)) && ins[l]) bits |= 1u << l;
  for (int l = 0; l < 32; l++) outs[l] = bits;
}

[[noreturn]] void device_fault(const char* what) {
  Executor& e = ex();
  Fiber* f = e.running;
  if (!f) {
    fprintf(stderr, "tessera CUDA emulator: %s\n", what);
    abort();
  }
  fail(e, where(f) + ": " + what);
  f->state = DONE;
  // Abandon the fiber's stack; it is re-created before its next use.
  f->started = false;
#ifdef TESSERA_ASAN
  __sanitizer_start_switch_fiber(nullptr, e.schedStackBottom, e.schedStackSize);
#endif
  _longjmp(e.scheduler, 1);
}

std::string execute_grid(const char* name, dim3 grid, dim3 block, KernelBody* body) {
  Executor& e = ex();
  const unsigned threads = block.x * block.y * block.z;
  while (e.fibers.size() < threads) {
    Fiber* f = new_fiber();
    prepare(f);
    e.fibers.push_back(f);
  }
  e.threads = threads;
  e.body = body;
  e.faulted = false;
  e.fault.clear();
  current_grid_dim = grid;
  current_block_dim = block;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        current_block_idx = {x, y, z};
        if (!run_block(x + grid.x * (y + grid.y * z))) {
          // Fibers left mid-kernel cannot be resumed into another launch: start them afresh.
          for (Fiber* f : e.fibers) prepare(f);
          e.body = nullptr;
          return std::string(name) + ": " + e.fault;
        }
      }
  e.body = nullptr;
  return "";
}

}  // namespace tessera_host
