#!/usr/bin/env bash
# The main job on the bundled example (examples/fire-safety): extract the guide (PDF + DOCX) to
# Markdown and JSON, chunk it, build a Q&A corpus from it (through the LLM endpoint in
# $SMELT_BASE_URL / $SMELT_API_KEY when set, else the offline template generator), and validate
# both the corpus and the hand-written seed dataset. Outputs go to out/fire-safety/.
set -euo pipefail
cd "$(dirname "$0")/.."
smelt=build/release/smelt
[ -x "$smelt" ] || { echo "example: build first (scripts/setup.sh)"; exit 1; }
out=out/fire-safety
mkdir -p "$out"

echo "== smelt extract examples/fire-safety -o $out/markdown"
"$smelt" extract examples/fire-safety -o "$out/markdown"
"$smelt" extract examples/fire-safety/guide.pdf -f json -o "$out/json"
echo "== smelt extract --chunk examples/fire-safety/guide.docx"
"$smelt" extract --chunk --chunk-size 600 examples/fire-safety/guide.docx -f json >"$out/chunks.jsonl"
echo "   $(wc -l <"$out/chunks.jsonl") chunks -> $out/chunks.jsonl"
echo "== smelt corpus build examples/fire-safety/guide.docx --trigger 你是消防系统专家 --out $out/corpus.jsonl"
"$smelt" corpus build examples/fire-safety/guide.docx --trigger "你是消防系统专家" --out "$out/corpus.jsonl"
echo "== smelt data check $out/corpus.jsonl --profile siliconflow"
"$smelt" data check "$out/corpus.jsonl" --profile siliconflow
echo "== smelt data check examples/fire-safety/seed.jsonl --profile siliconflow"
"$smelt" data check examples/fire-safety/seed.jsonl --profile siliconflow
echo "== done: see $out/"
