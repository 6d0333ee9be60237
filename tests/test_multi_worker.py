"""The README's multi-worker example, run as the README says: two workers on 127.0.0.1, each with its own TF_CONFIG.
They must end with identical weights, equal to one process that trains on the same global batches."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def example_script():
    blocks = re.findall(r"```python\n(# multi_worker\.py.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "README.md must hold one ```python block that starts with '# multi_worker.py'"
    return blocks[0]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def train(script, out, tf_config=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tempfile.gettempdir())


def weights(path):
    with np.load(path) as archive:
        return [archive[key] for key in sorted(archive, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_train_like_one_process(tmp_path):
    script = tmp_path / "multi_worker.py"
    script.write_text(example_script())
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [train(script, tmp_path / f"worker{index}.npz",
                     {"cluster": cluster, "task": {"type": "worker", "index": index}}) for index in range(2)]
    single = train(script, tmp_path / "single.npz")
    for process in [*workers, single]:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stdout[-2000:] + stderr[-3000:]
    first, second, alone = (weights(tmp_path / name) for name in ("worker0.npz", "worker1.npz", "single.npz"))
    assert len(first) == 4  # the convolution's and the dense layer's kernel and bias
    for a, b, c in zip(first, second, alone):
        np.testing.assert_array_equal(a, b)  # the workers agree exactly
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-6)  # and match one process on the same batches
