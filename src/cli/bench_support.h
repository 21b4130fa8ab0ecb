// What the `titans bench` subcommands share: finding reference/, running a PyTorch peer there with
// an optimised BLAS, the machine's description, and printing markdown tables (for
// docs/BENCHMARKS.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace titans::cli {

// `bench memory`, added to the `bench` command (bench_memory_command.cpp).
void add_bench_memory_command(CLI::App& bench, int* exit_code);
// `bench attention` (bench_attention_command.cpp).
void add_bench_attention_command(CLI::App& bench, int* exit_code);
// `bench train` (bench_train_command.cpp).
void add_bench_train_command(CLI::App& bench, int* exit_code);
// `bench stream` (bench_stream_command.cpp).
void add_bench_stream_command(CLI::App& bench, int* exit_code);

// The PyTorch peer's options: --no-torch, --python, --reference-dir.
struct PeerArgs {
  bool no_torch = false;
  std::string python = "/usr/bin/python3";
  std::string reference_dir;
};
void add_peer_options(CLI::App& cmd, PeerArgs* peer, const std::string& script);

// --repeats N (the median is reported).
void add_repeats_option(CLI::App& cmd, int* repeats);

// The folder holding `script`: `given` when not empty, else reference/ beside the working directory
// or beside the binary's build tree; "" when not found.
std::string find_reference_dir(const std::string& given, const std::string& script);

// Runs `python <reference_dir>/<script> <args>` and returns its stdout, or "" with the reason in
// *why. LD_LIBRARY_PATH points at the OpenBLAS of reference/setup_openblas.sh when it is there
// ($TITANS_OPENBLAS_DIR or ~/.cache/titans-reference/openblas), so that the peer is a fair one.
// The peer's stderr goes to ours unless `quiet`.
// With peer.no_torch: "" and why "skipped (--no-torch)".
std::string run_reference_peer(const PeerArgs& peer, const std::string& script,
                               const std::string& args, bool quiet, std::string* why);

std::string cpu_model();     // /proc/cpuinfo's model name
std::string utc_date();      // YYYY-MM-DD
std::string load_average();  // the 1, 5 and 15 minute load averages of /proc/loadavg

// "# titans bench <name> — date — CPU, N threads available" and a blank line.
void print_bench_heading(const std::string& name);

// A markdown table; `align` has one letter a column: 'l' left, 'r' right.
void print_markdown_table(const std::vector<std::string>& header, const std::string& align,
                          const std::vector<std::vector<std::string>>& rows);

}  // namespace titans::cli
