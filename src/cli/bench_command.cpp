// `titans bench ops`: prints the benchmark as a markdown table (for docs/BENCHMARKS.md).
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/op_bench.h"
#include "cli/commands.h"
#include "cli/options.h"

namespace titans::cli {

namespace {

namespace fs = std::filesystem;

struct BenchArgs {
  int threads = 0;
  int repeats = 7;
  bool no_torch = false;
  bool no_op_table = false;
  std::string python = "/usr/bin/python3";
  std::string reference_dir;
};

// reference/ beside the working directory, or beside the binary's build tree.
std::string find_reference_dir(const std::string& given) {
  if (!given.empty()) return given;
  if (fs::exists("reference/bench_ops.py")) return "reference";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path p = exe.parent_path().parent_path().parent_path() / "reference";
    if (fs::exists(p / "bench_ops.py")) return p.string();
  }
  return "";
}

// The PyTorch peer's JSON line, or "" with a reason.
std::string run_torch_peer(const BenchArgs& a, std::string* why) {
  if (a.no_torch) {
    *why = "skipped (--no-torch)";
    return "";
  }
  const std::string dir = find_reference_dir(a.reference_dir);
  if (dir.empty()) {
    *why = "reference/bench_ops.py not found (give --reference-dir)";
    return "";
  }
  // An optimised BLAS for the peer (reference/setup_openblas.sh), so that it is a fair one.
  std::string env;
  const char* home = std::getenv("HOME");
  const char* given = std::getenv("TITANS_OPENBLAS_DIR");
  const std::string blas = given ? given : std::string(home ? home : "") + "/.cache/titans-reference/openblas";
  if (fs::exists(blas + "/libblas.so.3")) env = "LD_LIBRARY_PATH=" + blas + " ";
  const std::string cmd = env + a.python + " " + dir + "/bench_ops.py 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *why = "could not start " + a.python;
    return "";
  }
  std::string out;
  std::array<char, 4096> buf;
  while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
  const int rc = pclose(p);
  if (rc != 0 || out.empty()) {
    *why = a.python + " with torch did not run (is python3-torch installed?)";
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

int bench_ops(const BenchArgs& a) {
  apply_threads(a.threads);
  OpBenchOptions opt;
  opt.repeats = a.repeats;
  opt.op_table = !a.no_op_table;
  std::string why;
  opt.torch_json = run_torch_peer(a, &why);
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  fmt::print("# titans bench ops — {} — {}, {} threads available\n\n", date, cpu_model(),
             omp_get_max_threads());
  fmt::print("PyTorch peer: {}\n\n", opt.torch_json.empty() ? why : opt.torch_json.substr(0, opt.torch_json.find('\n')));
  std::fflush(stdout);
  const OpBenchReport rep = run_op_bench(opt);
  fmt::print("| measurement | threads | value | unit | notes |\n|---|---|---:|---|---|\n");
  for (const OpBenchRow& r : rep.rows)
    fmt::print("| {} | {} | {:.3f} | {} | {} |\n", r.name, r.config, r.value, r.unit, r.note);
  if (!rep.op_table.empty()) {
    fmt::print("\nOp table, perf mode (float32, 1 thread, recorded for autodiff; median):\n\n");
    fmt::print("| op | case | forward µs | backward µs |\n|---|---|---:|---:|\n");
    for (const OpBenchRow& r : rep.op_table)
      fmt::print("| {} | {} | {:.3f} | {} |\n", r.name, r.config, r.value,
                 r.note.substr(0, r.note.find(' ')));
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "benchmarks (print tokens/s, GFLOP/s, % of peak)");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArgs>();
  CLI::App* ops = bench->add_subcommand(
      "ops", "autodiff overhead per op, fp32 GEMM vs peak and oneDNN, bf16 vs fp32, op timings");
  add_threads_option(*ops, &args->threads);
  ops->add_option("--repeats", args->repeats, "timed repetitions (median is reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  ops->add_flag("--no-torch", args->no_torch, "do not run the PyTorch peer");
  ops->add_flag("--no-op-table", args->no_op_table, "skip the per-op timing table");
  ops->add_option("--python", args->python, "Python with torch, for the peer")->capture_default_str();
  ops->add_option("--reference-dir", args->reference_dir, "folder holding bench_ops.py");
  ops->callback([args, exit_code] { *exit_code = bench_ops(*args); });
}

}  // namespace titans::cli
