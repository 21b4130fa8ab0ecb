// The byte-level tokenizer: ids 0–255 are the bytes of the UTF-8 text, then three special tokens.
// Every length in the data pipeline (task lengths, windows) is counted in these tokens.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace titans::data {

inline constexpr int32_t kByteTokens = 256;  // ids [0, 256): one per byte value
inline constexpr int32_t kBos = 256;         // <bos>: beginning of a sequence
inline constexpr int32_t kEos = 257;         // <eos>: end of a sequence
inline constexpr int32_t kPad = 258;         // <pad>: padding (never a target)
// The vocabulary size a model needs to read every id above: 256 bytes + 3 special tokens. A model
// with vocab 256 can still read any text (the special tokens are never produced by encode()).
inline constexpr int32_t kVocabSize = 259;
// Targets that carry no loss (ops' cross_entropy ignores rows whose target is −1).
inline constexpr int32_t kNoTarget = -1;

// Bytes to ids, one id per byte: never fails (any byte string is valid).
std::vector<int32_t> encode(std::string_view text);
// Ids to text: bytes as themselves, special tokens as their names ("<bos>", "<eos>", "<pad>").
// An id outside [0, kVocabSize) is an error naming the id and its index.
Result<std::string> decode(std::span<const int32_t> ids);
// "<bos>" / "<eos>" / "<pad>" for the special ids, "" for a byte id or an invalid id.
std::string_view special_token_name(int32_t id);

}  // namespace titans::data
