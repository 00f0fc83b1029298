#!/usr/bin/env bash
# Runs smelt's test suite: every ctest label of the release build, then a short libFuzzer run
# of each fuzz target (scripts/fuzz.sh). Usage: scripts/test.sh [ctest args...], e.g. -L unit.
# SMELT_FUZZ_SECONDS=0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j"$(nproc)" "$@"
if [ "${SMELT_FUZZ_SECONDS:-20}" != "0" ] && [ $# -eq 0 ]; then
  scripts/fuzz.sh "${SMELT_FUZZ_SECONDS:-20}"
fi
