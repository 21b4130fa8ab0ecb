#include "io/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace titans::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

// write(2) may write less than asked (signals, pipes); loop until done or a real error.
bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= size_t(n);
  }
  return true;
}

std::string parent_folder(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Makes a completed rename durable. Best effort: some file systems refuse fsync on a folder, and the
// data is already safe in the renamed file, so a failure here is not reported.
void sync_folder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string atomic_temp_path(const std::string& path) {
  return fmt::format("{}.tmp.{}", path, long(::getpid()));
}

Status write_file_atomically(const std::string& path, std::span<const ByteRange> pieces) {
  const std::string tmp = atomic_temp_path(path);
  // O_TRUNC: a temporary left by a crashed process with the same pid is ours to replace.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error(fmt::format("{}: cannot create '{}': {}", path, tmp, errno_text()));
  const auto fail = [&](const char* step) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::error(fmt::format("{}: {} '{}' failed: {}", path, step, tmp, why));
  };
  for (const ByteRange& piece : pieces)
    if (piece.size > 0 && !write_all(fd, piece.data, piece.size)) return fail("writing");
  if (::fsync(fd) != 0) return fail("fsync of");
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    return Status::error(fmt::format("{}: closing '{}' failed: {}", path, tmp, why));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    return Status::error(fmt::format("{}: cannot replace it with '{}': {}", path, tmp, why));
  }
  sync_folder(parent_folder(path));
  return Status();
}

}  // namespace titans::io
