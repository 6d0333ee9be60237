#!/usr/bin/env bash
# An estimate, not a measurement: llvm-mca's cycles for the forward's float64 arithmetic per strip
# (tests/cc/mca_forward.cc), compiled as each SIMD target compiles it, on CPU models of the machines it would run on,
# per element (a strip holds the target's lanes). x86 rows calibrate the estimate against the times the x86 paths
# take on this machine (`python -m lrn_op.bench --simd all`); the aarch64 rows stand for a machine we cannot run.
# usage: .ci/estimate-speed.sh        (needs g++, g++-aarch64-linux-gnu and llvm-mca-14)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# path | compiler | flags | lanes | llvm-mca triple | CPU models
targets=(
  "avx2|g++|-mavx2 -mfma -mf16c -ffp-contract=fast|4|x86_64|znver2 znver3 skylake"
  "avx512|g++|-mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -mf16c -mprefer-vector-width=512 -ffp-contract=fast|8|x86_64|icelake-server sapphirerapids"
  "neon|aarch64-linux-gnu-g++||2|aarch64|neoverse-n1 neoverse-n2 neoverse-v1"
)
printf '%-7s %-6s %-15s %s\n' path beta "CPU model" "cycles per element"
for target in "${targets[@]}"; do
  IFS='|' read -r path compiler flags lanes triple cpus <<<"$target"
  for beta in ThreeQuarters Half General; do
    asm=$work/$path-$beta.s
    # shellcheck disable=SC2086
    "$compiler" -std=c++17 -O3 -fno-math-errno -I"$root/cc" -DLRN_ISA=$path -DLRN_MCA_BETA="BetaKind::$beta" \
      $flags -S "$root/tests/cc/mca_forward.cc" -o "$asm"
    # The instructions between the markers, without the compiler's comment and directive lines.
    awk '/LRN-MCA-BEGIN/{f=1; next} /LRN-MCA-END/{f=0} f' "$asm" | grep -vE '^\s*(#|//|\.)' > "$asm.block"
    for cpu in $cpus; do
      cycles=$(llvm-mca-14 -mtriple="$triple" -mcpu="$cpu" -iterations=1000 "$asm.block" 2>/dev/null |
               awk '/^Total Cycles:/ {print $3}')
      printf '%-7s %-6s %-15s %.1f\n' "$path" "$beta" "$cpu" "$(echo "$cycles / 1000 / $lanes" | bc -l)"
    done
  done
done
