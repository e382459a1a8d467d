// Host-side check of philox.cuh (the same code the random kernel runs): prints the float32 bits of a fill.
// Usage: philox_host DIST K0 K1 OFFSET_LO OFFSET_HI N C0 C1 C2 C3    (DIST 0 uniform, 1 normal, 2 bernoulli;
// C0…C3 the float32 host constants of randomConstants, see philox.cuh)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../philox.cuh"

int main(int argc, char** argv) {
  if (argc != 11) {
    fprintf(stderr, "usage: philox_host DIST K0 K1 OFFSET_LO OFFSET_HI N C0 C1 C2 C3\n");
    return 2;
  }
  tessera::RandomArgs r;
  r.dist = atoi(argv[1]);
  r.k0 = (uint32_t)strtoull(argv[2], nullptr, 10);
  r.k1 = (uint32_t)strtoull(argv[3], nullptr, 10);
  r.offset = strtoull(argv[4], nullptr, 10) | (strtoull(argv[5], nullptr, 10) << 32);
  const long long n = atoll(argv[6]);
  r.c0 = (float)strtod(argv[7], nullptr);
  r.c1 = (float)strtod(argv[8], nullptr);
  r.c2 = (float)strtod(argv[9], nullptr);
  r.c3 = (float)strtod(argv[10], nullptr);
  for (long long blk = 0; blk * 4 < n; blk++) {
    float v[4];
    const int lanes = (int)(n - blk * 4 < 4 ? n - blk * 4 : 4);
    tessera::philox_block(r, (uint64_t)blk, lanes, v);
    for (int l = 0; l < lanes; l++) {
      uint32_t bits;
      memcpy(&bits, &v[l], 4);
      printf("%u\n", bits);
    }
  }
  return 0;
}
