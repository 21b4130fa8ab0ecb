// The evaluator's report for people and programs: a markdown table (rows lengths, columns depths,
// accuracy in %, and tokens/s), JSON records, and an SVG heatmap to open in a browser.
#pragma once

#include <string>

#include "eval/evaluator.h"
#include "util/status.h"

namespace titans::eval {

// Rows: lengths; columns: depths (one "all" column for tasks without a depth), then tokens/s.
// Cells: accuracy in % (lm: bits per byte).
std::string format_table(const EvalReport& r);

// A JSON list of records {"task", "length", "depth", "samples", "accuracy", "tokens_per_s"}, one
// per cell: accuracy in [0, 1] (lm: null, with "bits_per_byte"), depth −1 for tasks without one.
std::string to_json(const EvalReport& r);

// An SVG heatmap, lengths down and depths across, red (0%) to green (100%), the percentage in
// every cell; lm: bits per byte, scaled over the report's range (green = fewer bits).
std::string to_svg(const EvalReport& r, const std::string& title);

// Writes text to path atomically (io/atomic_file.h).
Status write_text(const std::string& path, const std::string& text);

}  // namespace titans::eval
