// Deterministic 64-bit hashing for seeds: SplitMix64 (Steele, Lea, Flood 2014). Reproducible
// random streams (model init, LoRA dropout, data order) derive their seeds from it; drawing
// distributions is left to the callers.
#pragma once

#include <cstdint>

namespace smelt {

// The SplitMix64 output for counter X: a stateless, well-mixed hash of X.
inline uint64_t splitmix64_hash(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Advances STATE and returns the next SplitMix64 output.
inline uint64_t splitmix64_next(uint64_t& state) {
  uint64_t out = splitmix64_hash(state);
  state += 0x9e3779b97f4a7c15ull;
  return out;
}

}  // namespace smelt
