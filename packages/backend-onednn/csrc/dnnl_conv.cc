// The three convolutions on oneDNN primitives. Each geometry gets one cache entry holding its primitive
// descriptors and primitives (created once), the blocked layouts oneDNN chose for it, the reorders between
// those and the catalogue's dense NCHW / OIHW buffers, and the internal buffers for blocked data. Weights in
// a blocked layout are reordered once per weight version: the TS side bumps a buffer's version on every
// write, so inference reuses them across calls and training re-lays them out after each update only.
//
// Geometry: oneDNN wants padding_r with (out − 1)·stride + (k − 1)·dilation + 1 = in + pad_l + pad_r; where
// floor division leaves input rows or columns no window touches, pad_r would be negative, so those rows are
// cut off instead (a strided view of the dense input; their input gradient is zero).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dnnl_context.h"
#include "kernels.h"

namespace tessera {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct ConvGeom {
  int64_t n, cIn, h, w, cOut, kh, kw, outH, outW, strideH, strideW, padH, padW, dilH, dilW, groups;
  int64_t hUsed, wUsed, padRH, padRW;

  static ConvGeom read(Params& p) {
    ConvGeom g;
    g.n = p.i64(), g.cIn = p.i64(), g.h = p.i64(), g.w = p.i64(), g.cOut = p.i64(), g.kh = p.i64(), g.kw = p.i64();
    g.outH = p.i64(), g.outW = p.i64(), g.strideH = p.i64(), g.strideW = p.i64(), g.padH = p.i64(), g.padW = p.i64();
    g.dilH = p.i64(), g.dilW = p.i64(), g.groups = p.i64();
    if (g.groups < 1 || g.cIn % g.groups || g.cOut % g.groups) throw KernelError("groups must divide cIn and cOut");
    g.padRH = (g.outH - 1) * g.strideH + (g.kh - 1) * g.dilH + 1 - g.h - g.padH;
    g.padRW = (g.outW - 1) * g.strideW + (g.kw - 1) * g.dilW + 1 - g.w - g.padW;
    g.hUsed = g.h, g.wUsed = g.w;
    if (g.padRH < 0) g.hUsed += g.padRH, g.padRH = 0;
    if (g.padRW < 0) g.wUsed += g.padRW, g.padRW = 0;
    return g;
  }
  std::string key(const char* kind, bool bias) const {
    std::string k = kind;
    for (int64_t v : {n, cIn, h, w, cOut, kh, kw, outH, outW, strideH, strideW, padH, padW, dilH, dilW, groups}) k += ":" + std::to_string(v);
    return k + (bias ? ":b" : "");
  }
  bool trimmed() const { return hUsed != h || wUsed != w; }
  /** The dense NCHW input as oneDNN sees it: only the rows and columns some window reads. */
  memory::desc userSrc() const {
    return memory::desc({n, cIn, hUsed, wUsed}, dt::f32, memory::dims{cIn * h * w, h * w, w, 1});
  }
  memory::desc anySrc() const { return memory::desc({n, cIn, hUsed, wUsed}, dt::f32, tag::any); }
  memory::desc userDst() const { return memory::desc({n, cOut, outH, outW}, dt::f32, tag::nchw); }
  memory::desc anyDst() const { return memory::desc({n, cOut, outH, outW}, dt::f32, tag::any); }
  memory::dims wDims() const {
    if (groups == 1) return {cOut, cIn, kh, kw};
    return {groups, cOut / groups, cIn / groups, kh, kw};
  }
  memory::desc userWeights() const { return memory::desc(wDims(), dt::f32, groups == 1 ? tag::oihw : tag::goihw); }
  memory::desc anyWeights() const { return memory::desc(wDims(), dt::f32, tag::any); }
  memory::desc biasDesc() const { return memory::desc({cOut}, dt::f32, tag::x); }
  memory::dims strides() const { return {strideH, strideW}; }
  memory::dims dilates() const { return {dilH - 1, dilW - 1}; }
  memory::dims padL() const { return {padH, padW}; }
  memory::dims padR() const { return {padRH, padRW}; }

  dnnl::convolution_forward::primitive_desc forwardPd(bool bias) const {
    auto& ctx = DnnlContext::get();
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, anySrc(), anyWeights(), biasDesc(),
                                                    anyDst(), strides(), dilates(), padL(), padR())
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, anySrc(), anyWeights(), anyDst(),
                                                    strides(), dilates(), padL(), padR());
    return dnnl::convolution_forward::primitive_desc(d, ctx.engine);
  }
};

/** A tensor the primitive reads or writes: the user's dense buffer, plus a blocked twin and reorders where they differ. */
struct Operand {
  memory user;
  memory internal;
  dnnl::reorder toInternal, toUser;
  bool blocked = false;
  size_t bytes = 0;

  void init(const memory::desc& userMd, const memory::desc& chosen, bool in, bool out) {
    auto& eng = DnnlContext::get().engine;
    user = memory(userMd, eng, DNNL_MEMORY_NONE);
    blocked = chosen != userMd;
    if (!blocked) return;
    internal = memory(chosen, eng);
    bytes = chosen.get_size();
    if (in) toInternal = dnnl::reorder(user, internal);
    if (out) toUser = dnnl::reorder(internal, user);
  }
  /** The memory the primitive uses for this call's buffer, reordered in first when `in` and blocked. */
  memory& bind(void* data, bool in) {
    user.set_data_handle(data);
    if (!blocked) return user;
    if (in) toInternal.execute(DnnlContext::get().stream, user, internal);
    return internal;
  }
  void writeBack() {
    if (blocked) toUser.execute(DnnlContext::get().stream, internal, user);
  }
};

/** Blocked weights, re-laid-out only when a different buffer or a new version of it arrives. */
struct WeightOperand : Operand {
  const void* lastData = nullptr;
  double lastVersion = -1;
  memory& bindWeights(void* data, double version) {
    user.set_data_handle(data);
    if (!blocked) return user;
    if (data != lastData || version != lastVersion || version < 0) {
      toInternal.execute(DnnlContext::get().stream, user, internal);
      lastData = data, lastVersion = version;
    }
    return internal;
  }
};

struct Entry {
  virtual ~Entry() = default;
  size_t bytes = 0;
};

struct ForwardEntry : Entry {
  dnnl::convolution_forward prim;
  Operand src, dst;
  WeightOperand weights;
  memory bias;
};

struct BackwardDataEntry : Entry {
  dnnl::convolution_backward_data prim;
  Operand diffDst, diffSrc;
  WeightOperand weights;
};

struct BackwardWeightsEntry : Entry {
  dnnl::convolution_backward_weights prim;
  Operand src, diffDst, diffWeights;
};

std::mutex cacheMutex;
std::unordered_map<std::string, std::unique_ptr<Entry>> cache;

template <class E, class Make>
E& cached(const std::string& key, Make make) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto it = cache.find(key);
  if (it != cache.end()) return static_cast<E&>(*it->second);
  std::unique_ptr<E> e = make();
  E& ref = *e;
  cache.emplace(key, std::move(e));
  return ref;
}

/**
 * The weight gradient of a convolution with one input channel, as im2col + sgemm: oneDNN 2.6's
 * jit:avx2 backward-weights kernel blocks input channels by 8 and, for the reduced AlexNet's first layer
 * (1 → 16 channels, 5×5, 28×28, batch 64), took 14× its own forward's time here (42 ms against 3 ms, and
 * gemm:jit 252 ms). Per image and group: cols [K = kh·kw, P = outH·outW] of the padded input, then
 * dW_g [coutG, K] += dy_g [coutG, P] · colsᵀ; images are split across the OpenMP threads, each summing into its
 * own partial dW, and the partials are added in thread order.
 */
void im2colBackwardWeights(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t cinG = g.cIn / g.groups, coutG = g.cOut / g.groups;
  const int64_t K = cinG * g.kh * g.kw, P = g.outH * g.outW, total = g.cOut * K;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), g.n)));
  std::vector<float> partial(static_cast<size_t>(threads) * total, 0.0f);
  bool failed = false;
#pragma omp parallel num_threads(threads) reduction(|| : failed)
  {
    const int id = omp_get_thread_num(), nt = omp_get_num_threads();
    std::vector<float> cols(static_cast<size_t>(K * P));
    float* mine = partial.data() + static_cast<size_t>(id) * total;
    for (int64_t img = g.n * id / nt; img < g.n * (id + 1) / nt && !failed; img++) {
      for (int64_t grp = 0; grp < g.groups; grp++) {
        for (int64_t ci = 0; ci < cinG; ci++) {
          const float* plane = x + (img * g.cIn + grp * cinG + ci) * g.h * g.w;
          for (int64_t i = 0; i < g.kh; i++)
            for (int64_t j = 0; j < g.kw; j++) {
              float* row = cols.data() + ((ci * g.kh + i) * g.kw + j) * P;
              for (int64_t oh = 0; oh < g.outH; oh++) {
                const int64_t ih = oh * g.strideH - g.padH + i * g.dilH;
                float* out = row + oh * g.outW;
                if (ih < 0 || ih >= g.h) {
                  std::fill(out, out + g.outW, 0.0f);
                  continue;
                }
                const float* in = plane + ih * g.w;
                for (int64_t ow = 0; ow < g.outW; ow++) {
                  const int64_t iw = ow * g.strideW - g.padW + j * g.dilW;
                  out[ow] = iw >= 0 && iw < g.w ? in[iw] : 0.0f;
                }
              }
            }
        }
        const float* d = dy + (img * g.cOut + grp * coutG) * P;
        // sgemm inside a parallel region runs on the calling thread only.
        if (dnnl_sgemm('N', 'T', coutG, K, P, 1.0f, d, P, cols.data(), P, 1.0f, mine + grp * coutG * K, K) != dnnl_success) failed = true;
      }
    }
  }
  if (failed) throw KernelError("oneDNN sgemm failed in the im2col weight gradient");
  std::copy(partial.begin(), partial.begin() + total, dw);
  for (int t = 1; t < threads; t++) {
    const float* p = partial.data() + static_cast<size_t>(t) * total;
    for (int64_t i = 0; i < total; i++) dw[i] += p[i];
  }
}

}  // namespace

void clearPrimitiveCache() {
  std::lock_guard<std::mutex> lock(cacheMutex);
  cache.clear();
}

void primitiveCacheStats(int64_t& primitives, int64_t& bytes) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  primitives = static_cast<int64_t>(cache.size());
  bytes = 0;
  for (auto& [k, e] : cache) bytes += static_cast<int64_t>(e->bytes);
}

void conv2d(Buf* b, Params& p) {
  const ConvGeom g = ConvGeom::read(p);
  const double weightVersion = p.num();
  const bool hasBias = b[2].present;
  if (b[3].size == 0) return;
  if (g.cIn == 0 || g.hUsed <= 0 || g.wUsed <= 0) {
    // No input contributes: the output is the bias (or zero) everywhere.
    const int64_t plane = g.outH * g.outW;
    for (int64_t i = 0; i < g.n * g.cOut; i++) std::fill(b[3].f() + i * plane, b[3].f() + (i + 1) * plane, hasBias ? b[2].f()[i % g.cOut] : 0.0f);
    return;
  }
  withDnnl("convolution forward", [&] {
    auto& e = cached<ForwardEntry>(g.key("fwd", hasBias), [&] {
      auto e = std::make_unique<ForwardEntry>();
      auto pd = g.forwardPd(hasBias);
      e->prim = dnnl::convolution_forward(pd);
      e->src.init(g.userSrc(), pd.src_desc(), true, false);
      e->weights.init(g.userWeights(), pd.weights_desc(), true, false);
      e->dst.init(g.userDst(), pd.dst_desc(), false, true);
      if (hasBias) e->bias = memory(g.biasDesc(), DnnlContext::get().engine, DNNL_MEMORY_NONE);
      e->bytes = e->src.bytes + e->weights.bytes + e->dst.bytes;
      return e;
    });
    auto& s = DnnlContext::get().stream;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.src.bind(b[0].data, true)},
                                         {DNNL_ARG_WEIGHTS, e.weights.bindWeights(b[1].data, weightVersion)},
                                         {DNNL_ARG_DST, e.dst.bind(b[3].data, false)}};
    if (hasBias) {
      e.bias.set_data_handle(b[2].data);
      args[DNNL_ARG_BIAS] = e.bias;
    }
    e.prim.execute(s, args);
    e.dst.writeBack();
    s.wait();
  });
}

void conv2dBackwardInput(Buf* b, Params& p) {
  const ConvGeom g = ConvGeom::read(p);
  const double weightVersion = p.num();
  if (b[2].size == 0) return;
  if (b[0].size == 0 || g.hUsed <= 0 || g.wUsed <= 0) {
    std::memset(b[2].data, 0, static_cast<size_t>(b[2].size) * sizeof(float));
    return;
  }
  withDnnl("convolution backward data", [&] {
    auto& e = cached<BackwardDataEntry>(g.key("bwd_data", false), [&] {
      auto e = std::make_unique<BackwardDataEntry>();
      auto hint = g.forwardPd(false);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.anySrc(), g.anyWeights(), g.anyDst(), g.strides(), g.dilates(),
                                              g.padL(), g.padR());
      dnnl::convolution_backward_data::primitive_desc pd(d, DnnlContext::get().engine, hint);
      e->prim = dnnl::convolution_backward_data(pd);
      e->diffDst.init(g.userDst(), pd.diff_dst_desc(), true, false);
      e->weights.init(g.userWeights(), pd.weights_desc(), true, false);
      e->diffSrc.init(g.userSrc(), pd.diff_src_desc(), false, true);
      e->bytes = e->diffDst.bytes + e->weights.bytes + e->diffSrc.bytes;
      return e;
    });
    // Rows and columns no window reads get no gradient; the view below leaves them untouched, so zero first.
    if (g.trimmed()) std::memset(b[2].data, 0, static_cast<size_t>(b[2].size) * sizeof(float));
    auto& s = DnnlContext::get().stream;
    e.prim.execute(s, {{DNNL_ARG_DIFF_DST, e.diffDst.bind(b[0].data, true)},
                       {DNNL_ARG_WEIGHTS, e.weights.bindWeights(b[1].data, weightVersion)},
                       {DNNL_ARG_DIFF_SRC, e.diffSrc.bind(b[2].data, false)}});
    e.diffSrc.writeBack();
    s.wait();
  });
}

void conv2dBackwardFilter(Buf* b, Params& p) {
  const ConvGeom g = ConvGeom::read(p);
  if (b[2].size == 0) return;
  if (b[1].size == 0 || g.hUsed <= 0 || g.wUsed <= 0) {
    std::memset(b[2].data, 0, static_cast<size_t>(b[2].size) * sizeof(float));
    return;
  }
  if (g.cIn == 1 && g.outH * g.outW > 0) {
    im2colBackwardWeights(g, b[0].f(), b[1].f(), b[2].f());
    return;
  }
  withDnnl("convolution backward weights", [&] {
    auto& e = cached<BackwardWeightsEntry>(g.key("bwd_weights", false), [&] {
      auto e = std::make_unique<BackwardWeightsEntry>();
      auto hint = g.forwardPd(false);
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.anySrc(), g.anyWeights(), g.anyDst(), g.strides(), g.dilates(),
                                                 g.padL(), g.padR());
      dnnl::convolution_backward_weights::primitive_desc pd(d, DnnlContext::get().engine, hint);
      e->prim = dnnl::convolution_backward_weights(pd);
      e->src.init(g.userSrc(), pd.src_desc(), true, false);
      e->diffDst.init(g.userDst(), pd.diff_dst_desc(), true, false);
      e->diffWeights.init(g.userWeights(), pd.diff_weights_desc(), false, true);
      e->bytes = e->src.bytes + e->diffDst.bytes + e->diffWeights.bytes;
      return e;
    });
    auto& s = DnnlContext::get().stream;
    e.prim.execute(s, {{DNNL_ARG_SRC, e.src.bind(b[0].data, true)},
                       {DNNL_ARG_DIFF_DST, e.diffDst.bind(b[1].data, true)},
                       {DNNL_ARG_DIFF_WEIGHTS, e.diffWeights.bind(b[2].data, false)}});
    e.diffWeights.writeBack();
    s.wait();
  });
}

}  // namespace tessera
