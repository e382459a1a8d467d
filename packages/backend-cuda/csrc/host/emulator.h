// Internal interface of the host emulation between the stream runtime (runtime.cc) and the grid executor
// (fiber_executor.cc).
#pragma once
#include <string>

#include "cuda_runtime.h"

namespace tessera_host {

/** Runs every block of a launch on the calling (stream worker) thread; returns "" or what faulted. */
std::string execute_grid(const char* name, dim3 grid, dim3 block, KernelBody* body);

}  // namespace tessera_host
