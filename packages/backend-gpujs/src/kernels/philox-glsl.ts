/**
 * Philox 4x32-10 in GLSL that needs no integer type: headless-gl is WebGL1 (GLSL ES 1.00, no bitwise
 * operators, no uint), so a 32-bit word is a pair of floats (high 16 bits, low 16 bits). Every operation
 * stays exact in float32: the 32×32→64-bit multiply is schoolbook on 8-bit limbs (each column below 2¹⁸),
 * XOR goes bit by bit on 16-bit halves, and all divisions are by powers of two.
 *
 * Given to gpu.js as one native function (gpu.js only traces the natives a kernel calls, so the helpers are
 * part of its source): philoxBits(…, hiScale, loScale) returns ⌊x / 2^s⌋ (hiScale = 2^(16−s), loScale = 2^−s) of lane `lane` of the block for counter
 * (c0, c1, 0, 0) and key (k0, k1), each word given as (high 16, low 16).
 */
export const PHILOX_GLSL = `float pxXor16(float a, float b) {
  float r = 0.0;
  float p = 1.0;
  for (int i = 0; i < 16; i++) {
    float ha = floor(a * 0.5);
    float hb = floor(b * 0.5);
    if ((a - 2.0 * ha) != (b - 2.0 * hb)) { r += p; }
    a = ha;
    b = hb;
    p *= 2.0;
  }
  return r;
}
vec2 pxXor(vec2 a, vec2 b) { return vec2(pxXor16(a.x, b.x), pxXor16(a.y, b.y)); }
vec2 pxAdd(vec2 a, vec2 b) {
  float lo = a.y + b.y;
  float carry = lo >= 65536.0 ? 1.0 : 0.0;
  lo -= carry * 65536.0;
  float hi = a.x + b.x + carry;
  if (hi >= 65536.0) { hi -= 65536.0; }
  return vec2(hi, lo);
}
float pxHi8(float v) { return floor(v * 0.00390625); }
// (high word, low word) of the 64-bit product, as vec4(high.hi16, high.lo16, low.hi16, low.lo16).
vec4 pxMul(vec2 a, vec2 b) {
  float a1 = pxHi8(a.y); float a0 = a.y - 256.0 * a1;
  float a3 = pxHi8(a.x); float a2 = a.x - 256.0 * a3;
  float b1 = pxHi8(b.y); float b0 = b.y - 256.0 * b1;
  float b3 = pxHi8(b.x); float b2 = b.x - 256.0 * b3;
  float c = a0 * b0;
  float k = pxHi8(c); float d0 = c - 256.0 * k;
  c = a0 * b1 + a1 * b0 + k;
  k = pxHi8(c); float d1 = c - 256.0 * k;
  c = a0 * b2 + a1 * b1 + a2 * b0 + k;
  k = pxHi8(c); float d2 = c - 256.0 * k;
  c = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0 + k;
  k = pxHi8(c); float d3 = c - 256.0 * k;
  c = a1 * b3 + a2 * b2 + a3 * b1 + k;
  k = pxHi8(c); float d4 = c - 256.0 * k;
  c = a2 * b3 + a3 * b2 + k;
  k = pxHi8(c); float d5 = c - 256.0 * k;
  c = a3 * b3 + k;
  k = pxHi8(c); float d6 = c - 256.0 * k;
  return vec4(k * 256.0 + d6, d5 * 256.0 + d4, d3 * 256.0 + d2, d1 * 256.0 + d0);
}
float philoxBits(float c0h, float c0l, float c1h, float c1l, float k0h, float k0l, float k1h, float k1l, float lane, float hiScale, float loScale) {
  vec2 c0 = vec2(c0h, c0l);
  vec2 c1 = vec2(c1h, c1l);
  vec2 c2 = vec2(0.0, 0.0);
  vec2 c3 = vec2(0.0, 0.0);
  vec2 k0 = vec2(k0h, k0l);
  vec2 k1 = vec2(k1h, k1l);
  for (int round = 0; round < 10; round++) {
    vec4 p0 = pxMul(vec2(53841.0, 8019.0), c0);
    vec4 p1 = pxMul(vec2(52638.0, 36183.0), c2);
    vec2 n0 = pxXor(pxXor(p1.xy, c1), k0);
    vec2 n2 = pxXor(pxXor(p0.xy, c3), k1);
    c1 = p1.zw;
    c3 = p0.zw;
    c0 = n0;
    c2 = n2;
    k0 = pxAdd(k0, vec2(40503.0, 31161.0));
    k1 = pxAdd(k1, vec2(47975.0, 44677.0));
  }
  vec2 x = c0;
  if (lane == 1.0) { x = c1; }
  if (lane == 2.0) { x = c2; }
  if (lane == 3.0) { x = c3; }
  return x.x * hiScale + floor(x.y * loScale);
}`;
