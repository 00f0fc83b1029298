#!/usr/bin/env bash
# The main job on the bundled example (examples/fire-safety): extract the guide (PDF + DOCX) to
# Markdown and JSON, chunk it, and validate the hand-written seed dataset. Outputs go to out/fire-safety/.
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
echo "== smelt data check examples/fire-safety/seed.jsonl --profile siliconflow"
"$smelt" data check examples/fire-safety/seed.jsonl --profile siliconflow
echo "== done: see $out/"
