"""Groups of processes that must finish together (workers, ranks, JAX processes), each bounded in time: a group
that does not finish is killed, whole, and its test fails with every member's last output."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class GroupFailed(AssertionError):
    pass


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def example(name, *args, env=None):
    """The command and environment that run examples/NAME with ARGS in a fresh interpreter."""
    return [sys.executable, str(EXAMPLES / name), *map(str, args)], env or {}


def run_group(members, timeout):
    """Starts every (command, environment) of members at once and waits, at most timeout seconds in all, for each
    to exit 0. Returns their standard outputs. Raises GroupFailed, naming the member and with the output of all, if
    one fails or the group outlives timeout; no member outlives this call."""
    logs, processes = [], []
    base = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "XLA_FLAGS", "KERAS_BACKEND")}
    try:
        for command, env in members:
            log = tempfile.TemporaryFile("w+")
            logs.append(log)
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                              cwd=tempfile.gettempdir(), env={**base, **env},
                                              start_new_session=True))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = [p.poll() for p in processes]
            if None not in codes or any(code not in (None, 0) for code in codes):
                break  # all done, or one failed: the others would wait for it until the deadline
            time.sleep(0.2)
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
        report = "\n".join(f"--- member {i}: {' '.join(p.args[1:])}\n{out[-2500:]}"
                           for i, (p, out) in enumerate(zip(processes, outputs)))
        for index, process in enumerate(processes):
            if process.returncode not in (None, 0):
                raise GroupFailed(f"member {index} ({' '.join(process.args[1:])}) exited with code "
                                  f"{process.returncode}; the group was stopped\n{report}")
        for index, process in enumerate(processes):
            if process.returncode is None:
                raise GroupFailed(f"member {index} ({' '.join(process.args[1:])}) did not finish within {timeout} s; "
                                  f"the group was killed\n{report}")
        return outputs
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for log in logs:
            log.close()


def weights(path):
    with np.load(path) as archive:
        return [archive[key] for key in sorted(archive, key=lambda k: int(k.split("_")[1]))]


def assert_ranks_agree_with_one_process(paths, alone, count):
    first, *others = (weights(path) for path in paths)
    assert len(first) == count
    for other in others:
        for a, b in zip(first, other):
            np.testing.assert_array_equal(a, b)  # the ranks agree exactly
    for a, c in zip(first, weights(alone)):
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-6)  # and match one process on the same global batches
