"""What every table of the benchmark shares: interleaved timing, the benchmark's own subprocesses, and the table
layout. It imports nothing else of the benchmark."""
import json
import math
import os
import subprocess
import sys
import time


def interleaved_samples(calls, runs, warmup, min_ms=0.0):
    """Runs the zero-argument callables in turn, warmup + runs rounds, and returns the milliseconds of each timed
    round per callable. Interleaving lets drifts in machine load hit every callable alike; the order turns by one
    each round, so that none always runs after the same neighbour.

    With min_ms, a callable faster than that is called back to back in each round, as many times as its last warmup
    call says make min_ms, and its sample is the mean of those calls: libraries whose threads spin for a while after
    a call (OpenMP's, oneTBB's, lrn_op's own pool) then take the cores from the first of those calls only, not from
    the whole sample of whichever callable comes next."""
    keys = list(calls)
    samples = {key: [] for key in keys}
    repeats = {key: 1 for key in keys}
    for run in range(warmup + runs):
        for key in keys[run % len(keys):] + keys[:run % len(keys)]:
            start = time.perf_counter()
            for _ in range(repeats[key]):
                calls[key]()
            elapsed = (time.perf_counter() - start) * 1e3 / repeats[key]
            if run >= warmup:
                samples[key].append(elapsed)
            elif min_ms:
                repeats[key] = max(1, math.ceil(min_ms / max(elapsed, 1e-6)))
    return samples


def bench_process(mode, sweep, runs, warmup, what, extra=(), **environment):
    """Runs `python -m lrn_op.bench MODE [EXTRA]` in a process of its own and returns the JSON its last line
    prints."""
    command = [sys.executable, "-m", "lrn_op.bench", mode, *extra, "--runs", str(runs), "--warmup", str(warmup)]
    result = subprocess.run(command + (["--sweep"] if sweep else []), capture_output=True, text=True,
                            env={**os.environ, **environment})
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def layout(lines):
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [" | ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "-|-".join("-" * width for width in widths))
    return "\n".join(text)
