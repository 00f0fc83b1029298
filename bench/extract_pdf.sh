#!/usr/bin/env bash
# PDF extraction speed: `smelt extract -f text` beside poppler's `pdftotext` on the same 300-page
# PDF in the same run (best of N repetitions each), printing pages/s, MB/s and the ratio.
# Builds the PDF with bench/make_bench_pdf.mjs when missing. Prints numbers; judges nothing.
# Usage: bench/extract_pdf.sh [SMELT_BINARY] [PDF] [REPETITIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
smelt="${1:-$root/build/release/smelt}"
pdf="${2:-$root/build/bench/bench_300.pdf}"
reps="${3:-5}"

if [ ! -x "$smelt" ]; then
  echo "extract_pdf.sh: $smelt: no smelt binary (build with: cmake --preset release && cmake --build --preset release)" >&2
  exit 2
fi
command -v pdftotext >/dev/null || { echo "extract_pdf.sh: pdftotext not found (apt-get install poppler-utils)" >&2; exit 2; }
if [ ! -f "$pdf" ]; then
  mkdir -p "$(dirname "$pdf")"
  node "$here/make_bench_pdf.mjs" "$pdf" 300
fi
pages="$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')"
bytes="$(stat -c %s "$pdf")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# best_seconds CMD...: the fastest wall time of $reps runs, in seconds.
best_seconds() {
  local best=""
  for _ in $(seq "$reps"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    local ns=$((t1 - t0))
    if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.4f", ns / 1e9 }'
}

smelt_s=$(best_seconds "$smelt" extract -q -f text -o "$out/smelt" "$pdf")
pdftotext_s=$(best_seconds pdftotext "$pdf" "$out/pdftotext.txt")

# cpu_and_peak CMD...: "CPU_SECONDS PEAK_RSS_MIB" of one run (user+system time, max resident set).
cpu_and_peak() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%U %S %M" -o "$out/time.txt" "$@" >/dev/null
    awk '{ printf "%.3f %.1f", $1 + $2, $3 / 1024 }' "$out/time.txt"
  else
    echo "? ?"
  fi
}
read -r smelt_cpu smelt_mib <<<"$(cpu_and_peak "$smelt" extract -q -f text -o "$out/smelt" "$pdf")"
read -r pdftotext_cpu pdftotext_mib <<<"$(cpu_and_peak pdftotext "$pdf" "$out/pdftotext.txt")"

report() {
  awk -v name="$1" -v s="$2" -v cpu="$3" -v mib="$4" -v pages="$pages" -v bytes="$bytes" \
    'BEGIN { printf "%-10s %8.3f s  %8.1f pages/s  %7.2f MB/s  cpu %6s s  peak %6s MiB\n", name, s, pages / s, bytes / 1e6 / s, cpu, mib }'
}
echo "input: $pdf ($pages pages, $bytes bytes), best of $reps, $(nproc) CPUs"
report smelt "$smelt_s" "$smelt_cpu" "$smelt_mib"
report pdftotext "$pdftotext_s" "$pdftotext_cpu" "$pdftotext_mib"
awk -v a="$smelt_s" -v b="$pdftotext_s" 'BEGIN { printf "ratio smelt/pdftotext: %.2fx (target <= 1.5x)\n", a / b }'
