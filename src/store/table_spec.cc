#include "store/table_spec.h"

#include <cstdint>

namespace hirestream::store {

int shard_for_key(const std::string& key, int shard_count) {
    // 64-bit FNV-1a (offset basis and prime from the FNV reference). Checkpoints and per-item
    // order depend on this mapping, so it must never change.
    constexpr std::uint64_t kOffsetBasis = 14695981039346656037ull;
    constexpr std::uint64_t kPrime = 1099511628211ull;
    std::uint64_t hash = kOffsetBasis;
    for (unsigned char byte : key) {
        hash ^= byte;
        hash *= kPrime;
    }
    if (shard_count <= 1) return 0;
    return static_cast<int>(hash % static_cast<std::uint64_t>(shard_count));
}

}  // namespace hirestream::store
