#!/usr/bin/env bash
# Fuzzes the safetensors parser (fuzz/safetensors_fuzz.cpp) with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer for FUZZ_SECONDS seconds (default 60). Not part of CTest: too slow.
# Exits non-zero on a crash or sanitizer report; libFuzzer then leaves the input as
# build-fuzz/crash-* (replay: build-fuzz/safetensors_fuzz build-fuzz/crash-...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${FUZZ_SECONDS:-60}

# clang and its runtime libraries (libFuzzer, the sanitizers) come from Debian.
bash scripts/install_packages.sh clang libclang-rt-14-dev libfmt-dev nlohmann-json3-dev
cxx=$(command -v clang++-14 || command -v clang++)

out=build-fuzz
mkdir -p "$out/corpus" "$out/seeds"
# Only the io sources: the parser must stand on its own. fmt header-only avoids mixing the
# gcc-built libfmt with sanitizer instrumentation.
echo "fuzz: building $out/safetensors_fuzz with $cxx"
"$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DFMT_HEADER_ONLY -Isrc src/io/*.cpp fuzz/safetensors_fuzz.cpp -o "$out/safetensors_fuzz"

# Seeds: a few valid files and a few corrupted ones, written byte by byte here.
seed() {  # seed NAME HEADER DATA_BYTES [HEADER_LENGTH]
  local name=$1 header=$2 bytes=$3 n=${4:-}
  [ -n "$n" ] || n=$(LC_ALL=C; echo ${#header})
  {
    printf "$(printf '\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)) \
      $((n >> 32 & 255)) $((n >> 40 & 255)) $((n >> 48 & 255)) $((n >> 56 & 255)))"
    printf '%s' "$header"
    head -c "$bytes" /dev/zero
  } >"$out/seeds/$name"
}
seed valid_one '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
seed valid_many '{"__metadata__":{"format":"titans.cpp","format_version":"1","config":"{\"d\":8}"},"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"I32","shape":[],"data_offsets":[22,26]},"e":{"dtype":"U8","shape":[0,4],"data_offsets":[26,26]}}   ' 26
seed valid_empty '{}' 0
seed past_end '{"w":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}}' 64
seed overlap '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}' 24
seed size_mismatch '{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}' 8
seed duplicate '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
seed overflow '{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}' 0
seed bad_length '{"w":{}}' 0 1099511627776
seed not_object '[1,2,3]' 0

echo "fuzz: running for ${seconds} s"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$out/safetensors_fuzz" -max_total_time="$seconds" -timeout=10 -max_len=8192 \
  -dict=fuzz/safetensors.dict -print_final_stats=1 -artifact_prefix="$out/" \
  "$out/corpus" "$out/seeds"
