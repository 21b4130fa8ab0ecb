// Whole-file writes that never leave a half-written file behind: every file the engine writes
// (model files, checkpoints, memory-state snapshots, .npy dumps) goes through here, so a crash or a
// full disk mid-write leaves the previous file intact rather than a truncated one that later loads.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "util/status.h"

namespace titans::io {

// A piece of the file's contents, written in order. The bytes must stay alive during the call.
struct ByteRange {
  const void* data = nullptr;
  size_t size = 0;
};

// Writes the concatenation of `pieces` to `path + ".tmp.<pid>"`, fsyncs it, then renames it over
// `path` (and fsyncs the folder, so the rename itself survives a crash). On any failure the temporary
// file is removed and `path` is left as it was. Errors name the path and the failing step.
Status write_file_atomically(const std::string& path, std::span<const ByteRange> pieces);

// The temporary name write_file_atomically uses for `path` in this process (tests look for it).
std::string atomic_temp_path(const std::string& path);

}  // namespace titans::io
