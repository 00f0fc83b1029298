#!/usr/bin/env bash
# Formats every tracked C++ file with the committed .clang-format; `--check` only reports files
# that differ and fails if there are any (CI runs it that way).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f"); done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "format: these files differ from .clang-format (run scripts/format.sh):"; printf '  %s\n' "${bad[@]}"
    exit 1
  fi
  echo "format: ${#files[@]} files ok"
else
  clang-format -i "${files[@]}"
fi
