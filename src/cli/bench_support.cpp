#include "cli/bench_support.h"

#include <fmt/format.h>
#include <omp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace titans::cli {

namespace fs = std::filesystem;

std::string find_reference_dir(const std::string& given, const std::string& script) {
  if (!given.empty()) return given;
  if (fs::exists("reference/" + script)) return "reference";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path p = exe.parent_path().parent_path().parent_path() / "reference";
    if (fs::exists(p / script)) return p.string();
  }
  return "";
}

void add_peer_options(CLI::App& cmd, PeerArgs* peer, const std::string& script) {
  cmd.add_flag("--no-torch", peer->no_torch, "do not run the PyTorch peer");
  cmd.add_option("--python", peer->python, "Python with torch, for the peer")
      ->capture_default_str();
  cmd.add_option("--reference-dir", peer->reference_dir, "folder holding " + script);
}

void add_repeats_option(CLI::App& cmd, int* repeats) {
  cmd.add_option("--repeats", *repeats, "timed repetitions")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
}

std::string run_reference_peer(const PeerArgs& peer, const std::string& script,
                               const std::string& args, bool quiet, std::string* why) {
  if (peer.no_torch) {
    *why = "skipped (--no-torch)";
    return "";
  }
  const std::string& python = peer.python;
  const std::string dir = find_reference_dir(peer.reference_dir, script);
  if (dir.empty()) {
    *why = "reference/" + script + " not found (give --reference-dir)";
    return "";
  }
  std::string env;
  const char* home = std::getenv("HOME");
  const char* given = std::getenv("TITANS_OPENBLAS_DIR");
  const std::string blas =
      given ? given : std::string(home ? home : "") + "/.cache/titans-reference/openblas";
  if (fs::exists(blas + "/libblas.so.3")) env = "LD_LIBRARY_PATH=" + blas + " ";
  const std::string cmd =
      env + python + " " + dir + "/" + script + " " + args + (quiet ? " 2>/dev/null" : "");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *why = "could not start " + python;
    return "";
  }
  std::string out;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
  const int rc = pclose(p);
  if (rc != 0 || out.empty()) {
    *why = python + " with torch did not run (is python3-torch installed?)";
    return "";
  }
  return out;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string utc_date() {
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  return date;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_bench_heading(const std::string& name) {
  fmt::print("# titans bench {} — {} — {}, {} threads available\n\n", name, utc_date(), cpu_model(),
             omp_get_max_threads());
}

void print_markdown_table(const std::vector<std::string>& header, const std::string& align,
                          const std::vector<std::vector<std::string>>& rows) {
  std::string line = "|", rule = "|";
  for (size_t i = 0; i < header.size(); ++i) {
    line += " " + header[i] + " |";
    rule += i < align.size() && align[i] == 'r' ? "---:|" : "---|";
  }
  fmt::print("{}\n{}\n", line, rule);
  for (const auto& r : rows) {
    std::string s = "|";
    for (const std::string& cell : r) s += " " + cell + " |";
    fmt::print("{}\n", s);
  }
}

}  // namespace titans::cli
