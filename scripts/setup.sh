#!/usr/bin/env bash
# Installs smelt's build dependencies (Debian 12 packages; npm packages for test tooling only) and
# builds the release preset. Usage: scripts/setup.sh [--no-build]. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  # HTTPS trust for npm's registry (and the LLM endpoints libcurl reaches); minimal installs lack it
  ca-certificates
  nlohmann-json3-dev libfmt-dev libcurl4-openssl-dev libsqlite3-dev
  libpoppler-cpp-dev libzip-dev libpugixml-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libcpp-httplib-dev libyaml-cpp-dev libdnnl-dev python3-torch python3-numpy
  # Debian's dnnl-config.cmake calls find_package(OpenCL): headers and the ICD loader's dev package
  ocl-icd-opencl-dev opencl-c-headers
  # CMaps for PDFs whose CJK fonts are not embedded (Adobe-GB1, CNS1, Japan1, Korea1): poppler needs them
  poppler-data
  # test tooling: reference tools, fonts and encryption for generated test documents, fuzzing (clang
  # with its sanitizer runtimes and OpenMP: the engine's find_package(OpenMP) under clang needs libomp)
  clang-format poppler-utils time qpdf python3-reportlab fonts-droid-fallback fonts-wqy-microhei
  clang libclang-rt-14-dev libomp-dev
  # an optimised BLAS for PyTorch's fp32 GEMMs (the references and bench peers; Debian's python3-torch
  # otherwise runs them on the single-threaded reference BLAS)
  libopenblas0-pthread
)
# Node.js runs the test tooling; keep an existing install (e.g. NodeSource, which bundles npm).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test tooling (document generators, reference implementations): never needed at run time.
(cd tests/tools && npm install --no-audit --no-fund --loglevel=error)

if [ "${1:-}" != "--no-build" ]; then
  cmake --preset release
  cmake --build --preset release -j"$(nproc)"
  echo "setup: built build/release/smelt"
fi
