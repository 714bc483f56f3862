#pragma once
// TableSpec: how a table is declared in config. Plain value.

#include <cstdint>
#include <string>
#include <vector>

#include "store/change_record.h"

namespace hirestream::store {

struct TableSpec {
    std::string name;                   // e.g. "candidates-dev"
    std::string key_attribute = "id";   // primary (partition) key, type S
    StreamViewType view_type = StreamViewType::new_and_old_images;
    int shard_count = 4;                // items map to shards by a hash of their key
    // Attributes (type S) whose values must be unique across the table, e.g. "email".
    // Enforced atomically with the write.
    std::vector<std::string> unique_attributes;
};

// Which shard a key belongs to: FNV-1a of the key, modulo the shard count. Stable across
// versions and backends, since checkpoints and order depend on it.
int shard_for_key(const std::string& key, int shard_count);

}  // namespace hirestream::store
