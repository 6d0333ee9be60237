#!/usr/bin/env bash
# Builds the kernel test driver (tests/cc/kernel_test.cc) under sanitizers, through CMakeLists.txt so that every SIMD
# target gets its usual flags, and runs it on each SIMD path named: AddressSanitizer with UndefinedBehaviorSanitizer
# (SANITIZER=address, the default) or ThreadSanitizer (SANITIZER=thread), which watches the pool's workers and the
# eight concurrent callers.
# usage: [SANITIZER=address|thread] tests/sanitize.sh BUILD_DIR FORWARD GRADIENT PATH...
#   FORWARD, GRADIENT: comma-separated bounds for float16,bfloat16,float32,float64 (tests/bounds.py)
# Exits non-zero on any failure or sanitizer report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1 forward=$2 gradient=$3
shift 3
sanitizer=${SANITIZER:-address}
cmake -S "$root" -B "$build" -DLRN_KERNEL_TEST_ONLY=ON -DLRN_SANITIZE="$sanitizer" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:exitcode=66
for path in "$@"; do
  echo "== LRN_OP_SIMD=$path ($sanitizer)"
  LRN_OP_SIMD=$path "$build/kernel_test" "$forward" "$gradient"
done
