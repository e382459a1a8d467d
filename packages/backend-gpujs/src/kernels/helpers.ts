/**
 * gpu.js functions every kernel may call. All index arithmetic is float arithmetic on integers below 2²⁴,
 * where +, − and × are exact; division is not correctly rounded on every GPU (SwiftShader's is not), so
 * quotients are corrected with exact multiplications instead of trusted.
 */
export const HELPERS: readonly string[] = [
  // ⌊x / d⌋ for integers x (any sign) and d ≥ 1.
  `function fdiv(x, d) {
    let q = Math.floor(x / d);
    if (q * d > x) { q = q - 1.0; }
    if ((q + 1.0) * d <= x) { q = q + 1.0; }
    return q;
  }`,
  // ⌈x / d⌉ for integers x (any sign) and d ≥ 1.
  `function cdiv(x, d) {
    let q = Math.floor(x / d);
    if (q * d > x) { q = q - 1.0; }
    if ((q + 1.0) * d <= x) { q = q + 1.0; }
    if (q * d < x) { q = q + 1.0; }
    return q;
  }`,
  // Truncation toward zero, the int32 store of a float.
  `function trunc0(v) {
    if (v < 0.0) { return -Math.floor(-v); }
    return Math.floor(v);
  }`,
];
