#!/usr/bin/env bash
# Runs smelt's test suite: every ctest label of the release build, then a short libFuzzer run
# of each fuzz target (scripts/fuzz.sh). Usage: scripts/test.sh [ctest args...], e.g. -L unit.
# SMELT_FUZZ_SECONDS=0 skips fuzzing. The engine, train, numerics and CLI tests run twice: as they are and
# capped to AVX2 (label avx2), the path of CPUs without AVX-512. The test presets set
# OMP_WAIT_POLICY=PASSIVE: ctest runs nproc tests at once, each with nproc OpenMP threads, and spinning
# threads starve each other (two small trainings at once on 2 cores: 5.6 s spinning, 1.1 s passive).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j"$(nproc)" "$@"
if [ "${SMELT_FUZZ_SECONDS:-20}" != "0" ] && [ $# -eq 0 ]; then
  scripts/fuzz.sh "${SMELT_FUZZ_SECONDS:-20}"
fi
