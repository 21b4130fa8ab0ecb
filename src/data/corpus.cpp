#include "data/corpus.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace titans::data {

namespace fs = std::filesystem;

int64_t split_point(std::string_view text, double validation_fraction) {
  const int64_t n = int64_t(text.size());
  int64_t cut = int64_t(std::floor(double(n) * (1.0 - validation_fraction)));
  cut = std::clamp<int64_t>(cut, 0, n);
  if (cut == 0 || cut == n) return cut;
  if (text[size_t(cut - 1)] == '\n') return cut;  // already a line start
  const size_t next = text.find('\n', size_t(cut));
  if (next != std::string_view::npos && next + 1 < text.size()) return int64_t(next + 1);
  // The cut lies in the last line: validation is that whole line (or the raw cut with one line).
  const size_t previous = text.rfind('\n', size_t(cut - 1));
  return previous == std::string_view::npos ? cut : int64_t(previous + 1);
}

namespace {

Status append_file(const fs::path& file, Corpus* corpus) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::error(fmt::format("cannot read corpus file '{}'", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (!bytes.empty() && bytes.back() != '\n') bytes.push_back('\n');
  corpus->text += bytes;
  corpus->files.push_back(file.string());
  return {};
}

}  // namespace

Result<Corpus> load_corpus(const std::string& path, double validation_fraction) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
    return Status::error(
        fmt::format("validation fraction {} is outside [0, 1)", validation_fraction));
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return Status::error(fmt::format(
        "corpus '{}' not found (run scripts/setup.sh, which dumps the King James Bible to "
        "data/kjv.txt, or name a text file or folder of .txt files)",
        path));
  Corpus corpus;
  if (fs::is_directory(st)) {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
    if (ec)
      return Status::error(fmt::format("cannot list corpus folder '{}': {}", path, ec.message()));
    if (files.empty())
      return Status::error(fmt::format("corpus folder '{}' has no .txt files", path));
    // Sorted by name so the corpus (and every seeded draw from it) is the same on every machine.
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files)
      if (Status s = append_file(f, &corpus); !s.ok()) return s;
  } else if (Status s = append_file(path, &corpus); !s.ok()) {
    return s;
  }
  if (corpus.text.empty()) return Status::error(fmt::format("corpus '{}' is empty", path));
  corpus.split = split_point(corpus.text, validation_fraction);
  return corpus;
}

std::string default_corpus_path() {
  if (const char* env = std::getenv("TITANS_CORPUS"); env && *env) return env;
  const fs::path relative = fs::path("data") / "kjv.txt";
  std::error_code ec;
  if (fs::exists(relative, ec)) return relative.string();
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside_repo = exe.parent_path().parent_path().parent_path() / relative;
    if (fs::exists(beside_repo, ec)) return beside_repo.string();
  }
  return relative.string();
}

}  // namespace titans::data
