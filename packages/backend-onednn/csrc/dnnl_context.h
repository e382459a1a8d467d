// The process-wide oneDNN engine and stream (CPU, OpenMP runtime: every primitive runs on the OpenMP team,
// omp_get_max_threads() threads, by default the machine's cores) and a helper that turns oneDNN's
// exceptions into kernel errors naming the primitive.
#pragma once
#include <dnnl.hpp>
#include <string>

#include "common.h"

namespace tessera {

struct DnnlContext {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  static DnnlContext& get() {
    static DnnlContext ctx;
    return ctx;
  }
};

/** Runs fn, rethrowing a dnnl::error as a KernelError that says which primitive failed and why. */
template <class Fn>
inline void withDnnl(const char* what, Fn fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    throw KernelError(std::string("oneDNN ") + what + ": " + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")");
  }
}

}  // namespace tessera
