// `titans inspect FILE`: what a safetensors file holds — metadata, tensors, parameter counts.
#include <fmt/format.h>

#include <map>
#include <tuple>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "io/safetensors.h"

namespace titans::cli {

namespace {

// "layers.3.attn.w_q" counts under "layers.3", "embed.weight" under "embed": one line per block.
std::string parameter_group(const std::string& name) {
  const size_t first = name.find('.');
  if (first == std::string::npos) return name;
  if (name.rfind("layers.", 0) == 0) {
    const size_t second = name.find('.', first + 1);
    const std::string index = name.substr(first + 1, second == std::string::npos
                                                         ? std::string::npos
                                                         : second - first - 1);
    if (second != std::string::npos && !index.empty() &&
        index.find_first_not_of("0123456789") == std::string::npos)
      return name.substr(0, second);
  }
  return name.substr(0, first);
}

void print_metadata(const std::map<std::string, std::string>& metadata) {
  fmt::print("metadata:\n");
  if (metadata.empty()) fmt::print("  (none)\n");
  for (const auto& [key, value] : metadata) {
    if (key == io::kConfigKey) continue;
    fmt::print("  {}: {}\n", key, value);
  }
  const auto config = metadata.find(io::kConfigKey);
  if (config == metadata.end()) return;
  const nlohmann::json j = nlohmann::json::parse(config->second, nullptr, false);
  if (j.is_discarded()) {
    fmt::print("  {}: {} (not valid JSON)\n", io::kConfigKey, config->second);
    return;
  }
  fmt::print("config:\n");
  // dump() indents with a newline per member; indent the whole block under "config:".
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    fmt::print("  {}\n", text.substr(at, nl == std::string::npos ? nl : nl - at));
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
}

void print_tensors(const std::vector<io::TensorEntry>& entries) {
  size_t name_w = 4, shape_w = 5;
  for (const io::TensorEntry& e : entries) {
    name_w = std::max(name_w, e.name.size());
    shape_w = std::max(shape_w, io::shape_string(e.shape).size());
  }
  fmt::print("\ntensors ({}):\n", entries.size());
  fmt::print("  {:<{}}  {:<5}  {:<{}}  {:>12}  {:>14}\n", "name", name_w, "dtype", "shape", shape_w,
             "numel", "bytes");
  for (const io::TensorEntry& e : entries)
    fmt::print("  {:<{}}  {:<5}  {:<{}}  {:>12}  {:>14}\n", e.name, name_w,
               io::file_dtype_name(e.dtype), io::shape_string(e.shape), shape_w, e.numel(),
               e.nbytes());
}

void print_counts(const std::vector<io::TensorEntry>& entries) {
  // Groups in natural order, so layers.10 follows layers.9 rather than layers.1.
  const auto natural_less = [](const std::string& a, const std::string& b) {
    const auto key = [](const std::string& s) {
      const size_t dot = s.find('.');
      const std::string tail = dot == std::string::npos ? "" : s.substr(dot + 1);
      const bool numeric = !tail.empty() && tail.find_first_not_of("0123456789") == std::string::npos;
      return std::make_tuple(s.substr(0, dot), numeric ? tail.size() : 0, tail);
    };
    return key(a) < key(b);
  };
  std::map<std::string, int64_t, decltype(natural_less)> groups(natural_less);
  int64_t total = 0;
  for (const io::TensorEntry& e : entries) {
    groups[parameter_group(e.name)] += e.numel();
    total += e.numel();
  }
  size_t w = 5;
  for (const auto& [g, n] : groups) w = std::max(w, g.size());
  fmt::print("\nparameters:\n");
  for (const auto& [g, n] : groups) fmt::print("  {:<{}}  {:>14}\n", g, w, n);
  fmt::print("  {:<{}}  {:>14}\n", "total", w, total);
}

}  // namespace

void add_inspect_command(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("inspect", "print a safetensors file's metadata, tensors and "
                                                "parameter counts");
  auto path = std::make_shared<std::string>();
  cmd->add_option("file", *path, "a .safetensors file (model, checkpoint, memory state)")
      ->required();
  cmd->callback([path, exit_code] {
    auto file = io::SafetensorsFile::open(*path);
    if (!file.ok()) {
      fmt::print(stderr, "titans: error: {}\n", file.message());
      *exit_code = 2;
      return;
    }
    fmt::print("{}: {} tensors\n", *path, file->entries().size());
    print_metadata(file->metadata());
    print_tensors(file->entries());
    print_counts(file->entries());
    *exit_code = 0;
  });
}

}  // namespace titans::cli
