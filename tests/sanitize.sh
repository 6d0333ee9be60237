#!/usr/bin/env bash
# Builds the kernel test driver (tests/cc/kernel_test.cc) with AddressSanitizer and UndefinedBehaviorSanitizer,
# through CMakeLists.txt so that every SIMD target gets its usual flags, and runs it on every path the CPU has.
# usage: tests/sanitize.sh [build-dir]     (exits non-zero on any failure or sanitizer report)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/sanitize}
cmake -S "$root" -B "$build" -DLRN_KERNEL_TEST_ONLY=ON -DLRN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for path in baseline avx2 avx512; do
  echo "== LRN_OP_SIMD=$path"
  LRN_OP_SIMD=$path "$build/kernel_test"
done
