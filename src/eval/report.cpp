#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "eval/lengths.h"
#include "io/atomic_file.h"

namespace titans::eval {

namespace {

bool is_lm(const EvalReport& r) { return r.scoring == data::Scoring::kLoss; }

size_t depth_count(const EvalReport& r) {
  size_t n = 0;
  while (n < r.cells.size() && r.cells[n].length == r.cells[0].length) ++n;
  return n;
}

std::string depth_label(double d) { return d < 0 ? "all" : fmt::format("{:g}", d); }

std::string cell_text(const EvalReport& r, const CellResult& c) {
  return is_lm(r) ? fmt::format("{:.3f}", c.bits_per_byte)
                  : fmt::format("{:.1f}", 100 * c.accuracy);
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

}  // namespace

std::string format_table(const EvalReport& r) {
  const size_t D = depth_count(r);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"length"};
  for (size_t j = 0; j < D; ++j)
    header.push_back((is_lm(r) ? "bits/byte, depth " : "% depth ") + depth_label(r.cells[j].depth));
  header.push_back("tokens/s");
  rows.push_back(header);
  for (size_t i = 0; i < r.cells.size(); i += D) {
    std::vector<std::string> row = {format_length(r.cells[i].length)};
    for (size_t j = 0; j < D; ++j) row.push_back(cell_text(r, r.cells[i + j]));
    row.push_back(fmt::format("{:.0f}", r.cells[i].tokens_per_s));
    rows.push_back(row);
  }
  std::vector<size_t> width(header.size(), 3);
  for (const auto& row : rows)
    for (size_t k = 0; k < row.size(); ++k) width[k] = std::max(width[k], row[k].size());
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t k = 0; k < rows[i].size(); ++k)
      out += k == 0 ? fmt::format("| {:<{}} ", rows[i][k], width[k])
                    : fmt::format("| {:>{}} ", rows[i][k], width[k]);
    out += "|\n";
    if (i == 0) {
      for (size_t k = 0; k < width.size(); ++k) {
        out += '|';
        out.append(width[k] + (k == 0 ? 2 : 1), '-');
        if (k > 0) out += ':';
      }
      out += "|\n";
    }
  }
  return out;
}

std::string to_json(const EvalReport& r) {
  nlohmann::json list = nlohmann::json::array();
  for (const CellResult& c : r.cells) {
    nlohmann::json j = {{"task", r.task},
                        {"length", c.length},
                        {"depth", c.depth},
                        {"samples", c.samples},
                        {"tokens_per_s", c.tokens_per_s}};
    if (is_lm(r)) {
      j["accuracy"] = nullptr;
      j["bits_per_byte"] = c.bits_per_byte;
    } else {
      j["accuracy"] = c.accuracy;
    }
    list.push_back(j);
  }
  return list.dump(2) + "\n";
}

std::string to_svg(const EvalReport& r, const std::string& title) {
  const size_t D = std::max<size_t>(depth_count(r), 1);
  const size_t rows = r.cells.size() / D;
  constexpr int kCellW = 80, kCellH = 36, kLeft = 110, kTop = 80, kBottom = 50;
  // Wide enough for the title too (about 9 px a character at 16 px).
  const int width = std::max(kLeft + int(D) * kCellW + 20, int(title.size()) * 9 + 40);
  const int height = kTop + int(rows) * kCellH + kBottom;
  double lo = 0, hi = 1;  // the colour scale's range (accuracy; lm: bits per byte, reversed)
  if (is_lm(r) && !r.cells.empty()) {
    lo = hi = r.cells[0].bits_per_byte;
    for (const CellResult& c : r.cells)
      lo = std::min(lo, c.bits_per_byte), hi = std::max(hi, c.bits_per_byte);
    if (hi - lo < 1e-9) hi = lo + 1;
  }
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\" class=\"background\"/>\n"
      "<text x=\"{2}\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">{3}</text>\n",
      width, height, width / 2, xml_escape(title));
  s += fmt::format("<text x=\"{}\" y=\"52\" font-size=\"13\" text-anchor=\"middle\">{}</text>\n",
                   kLeft + int(D) * kCellW / 2, r.has_depth ? "needle depth" : "");
  for (size_t j = 0; j < D && j < r.cells.size(); ++j)
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
                     kLeft + int(j) * kCellW + kCellW / 2, kTop - 8, depth_label(r.cells[j].depth));
  s += fmt::format(
      "<text x=\"18\" y=\"{0}\" font-size=\"13\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 18 {0})\">length (tokens)</text>\n",
      kTop + int(rows) * kCellH / 2);
  for (size_t i = 0; i < rows; ++i) {
    const int y = kTop + int(i) * kCellH;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>\n",
                     kLeft - 8, y + kCellH / 2 + 4, format_length(r.cells[i * D].length));
    for (size_t j = 0; j < D; ++j) {
      const CellResult& c = r.cells[i * D + j];
      const double v = is_lm(r) ? (hi - c.bits_per_byte) / (hi - lo) : c.accuracy;
      const int hue = int(std::lround(120 * std::clamp(v, 0.0, 1.0)));  // 0 red … 120 green
      const int x = kLeft + int(j) * kCellW;
      s += fmt::format(
          "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
          "fill=\"hsl({}, 70%, 55%)\" stroke=\"white\"/>\n",
          x, y, kCellW, kCellH, hue);
      s += fmt::format(
          "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\">{}{}</text>\n",
          x + kCellW / 2, y + kCellH / 2 + 5, cell_text(r, c), is_lm(r) ? "" : "%");
    }
  }
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n</svg>\n",
      width / 2, height - 18,
      is_lm(r) ? "bits per byte (green: fewest)"
               : fmt::format("accuracy, {} samples per cell (red 0%, green 100%)",
                             r.cells.empty() ? 0 : r.cells[0].samples));
  return s;
}

Status write_text(const std::string& path, const std::string& text) {
  const io::ByteRange piece{text.data(), text.size()};
  return io::write_file_atomically(path, {&piece, 1});
}

}  // namespace titans::eval
