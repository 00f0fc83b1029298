#!/usr/bin/env bash
# Short libFuzzer runs over every extractor and the chat-JSONL, tokenizer.json and safetensors
# readers (clang build in build/fuzz).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=20]. Seeds: the generated test documents and
# tests/fuzz/seeds/. Fails if any target finds a crash; crash inputs are left in build/fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
cmake --preset fuzz >/dev/null
targets=(fuzz_jsonl fuzz_tokenizer_json fuzz_safetensors)
for f in pdf docx pptx xlsx csv epub html markdown txt eml; do targets+=("fuzz_extract_$f"); done
cmake --build --preset fuzz -j"$(nproc)" --target "${targets[@]}"

testdata=build/release/testdata
[ -d "$testdata" ] || node tests/tools/make_documents.mjs "$testdata" >/dev/null
mkdir -p build/fuzz/crashes

seed_dir() {  # seed_dir FORMAT EXTENSIONS... -> prints a directory of seeds
  local format=$1; shift
  local dir=build/fuzz/seeds/$format
  rm -rf "$dir"; mkdir -p "$dir"
  for ext in "$@"; do
    find "$testdata" tests/fuzz/seeds tests/dataset/cases examples -type f -name "*.$ext" -size -2M -exec cp {} "$dir"/ \; 2>/dev/null || true
  done
  echo "$dir"
}

declare -A extensions=(
  [pdf]="pdf" [docx]="docx" [pptx]="pptx" [xlsx]="xlsx" [csv]="csv tsv" [epub]="epub"
  [html]="html htm" [markdown]="md" [txt]="txt" [eml]="eml"
)
failed=0
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
run_target() {  # run_target BINARY SEED_DIR
  local bin=$1 seeds=$2 name
  name=$(basename "$bin")
  local work=build/fuzz/corpus/$name
  mkdir -p "$work"
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
      -artifact_prefix=build/fuzz/crashes/"$name"- "$work" "$seeds" >build/fuzz/"$name".log 2>&1; then
    echo "fuzz: $name FAILED; see build/fuzz/$name.log"; tail -30 build/fuzz/"$name".log
    failed=1
  fi
}
for format in "${!extensions[@]}"; do
  # shellcheck disable=SC2086
  run_target build/fuzz/tests/fuzz/fuzz_extract_"$format" "$(seed_dir "$format" ${extensions[$format]})"
done
if [ -x build/fuzz/tests/fuzz/fuzz_jsonl ]; then
  run_target build/fuzz/tests/fuzz/fuzz_jsonl "$(seed_dir jsonl jsonl)"
fi
if [ -x build/fuzz/tests/fuzz/fuzz_safetensors ]; then  # seeds: a small weights file and a shard index
  st_seeds=build/fuzz/seeds/safetensors
  rm -rf "$st_seeds"; mkdir -p "$st_seeds"
  st_header='{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}}'
  { printf "$(printf '\\x%02x' "${#st_header}")\0\0\0\0\0\0\0"; printf '%s' "$st_header"; head -c 16 /dev/urandom; } >"$st_seeds/weights.safetensors"
  printf '%s' '{"metadata":{"total_size":8},"weight_map":{"w":"model-00001-of-00001.safetensors"}}' >"$st_seeds/index.json"
  run_target build/fuzz/tests/fuzz/fuzz_safetensors "$st_seeds"
fi
if [ -x build/fuzz/tests/fuzz/fuzz_tokenizer_json ]; then  # small tokenizer.json seeds from the test run
  [ -d "$testdata/tokenizer_refs/seeds" ] || node tests/tools/make_documents.mjs "$testdata" >/dev/null
  run_target build/fuzz/tests/fuzz/fuzz_tokenizer_json "$testdata/tokenizer_refs/seeds"
fi
[ $failed -eq 0 ] && echo "fuzz: no crashes"
exit $failed
