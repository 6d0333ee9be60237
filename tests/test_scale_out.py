"""Training on many devices: lrn_op.jax in sharded programs, Keras's distribution API on JAX, several JAX processes
(jax.distributed) and PyTorch's DistributedDataParallel. The examples/ files are what run; the checks read their
output or the weights they save."""
import json
import re
import sys

import pytest

from conftest import run_python
from processes import EXAMPLES, GroupFailed, assert_ranks_agree_with_one_process, example, free_ports, run_group

FOUR_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
TIMEOUT = 600

SHARDING = """
import itertools, json, re
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
import lrn_op.jax

COLLECTIVES = r"\\b(all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter)(?:-start)?\\("
mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("a", "b"))
rng = np.random.default_rng(0)

def collectives(jitted, *args):
    return sorted(set(re.findall(COLLECTIVES, jitted.lower(*args).compile().as_text())))

def cases(data_format, vmapped, splits, **params):
    def lrn(t):
        return lrn_op.jax.local_response_normalization(t, **params, data_format=data_format)
    if vmapped:
        lrn = jax.vmap(lrn)
    forward = jax.jit(lrn)
    gradient = jax.jit(jax.grad(lambda t, dy: jnp.sum(lrn(t) * dy)))
    shape = ((2,) if vmapped else ()) + ((4, 8, 4, 4) if data_format == "NCHW" else (4, 4, 4, 8))
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    y0, dx0 = np.asarray(forward(x)), np.asarray(gradient(x, dy))
    names = ("batch", "channels", "height", "width") if data_format == "NCHW" else \\
        ("batch", "height", "width", "channels")
    lead = 1 if vmapped else 0
    for first, second in splits:
        spec = [None] * len(shape)
        spec[lead + names.index(first)] = "a"
        if second:
            spec[lead + names.index(second)] = "b"
        sharding = NamedSharding(mesh, PartitionSpec(*spec))
        xs, dys = jax.device_put(x, sharding), jax.device_put(dy, sharding)
        y, dx = forward(xs), gradient(xs, dys)
        print(json.dumps(dict(
            case=f"{data_format} {'vmap ' if vmapped else ''}{first}{'+' + second if second else ''} {params}",
            channels="channels" in (first, second), radius=params["depth_radius"], bias=params["bias"],
            shardy=jax.config.jax_use_shardy_partitioner,
            kept=all(r.sharding.is_equivalent_to(sharding, len(shape)) for r in (y, dx)),
            forward=collectives(forward, xs), gradient=collectives(gradient, xs, dys),
            identical=bool(np.array_equal(y, y0) and np.array_equal(dx, dx0)))))

every = [(a, None) for a in ("batch", "height", "width", "channels")] + [("batch", "height"), ("height", "channels")]
for data_format, vmapped in itertools.product(("NHWC", "NCHW"), (False, True)):
    cases(data_format, vmapped, every, depth_radius=2, bias=2.0, alpha=1e-3, beta=0.75)
for data_format in ("NHWC", "NCHW"):
    # bias 0: the gradient's halo is not safe, so it gathers; radius 5: deeper than a shard of 4 channels.
    cases(data_format, False, [("channels", None)], depth_radius=2, bias=0.0, alpha=1e-3, beta=0.75)
    cases(data_format, False, [("channels", None)], depth_radius=5, bias=2.0, alpha=1e-3, beta=0.75)
"""


def test_jax_sharding_stays_local_and_channel_shards_exchange_halos():
    """Splits over the batch, height, width (alone, on a 2-D mesh, under vmap, NHWC and NCHW) keep their sharding and
    compile with no collective. A split over the channels exchanges depth_radius channels (the gradient: twice that)
    with the neighbouring shards, or gathers the channels where a shard is shallower than that, where the gradient's
    halo is unsafe (bias 0), or under GSPMD (jax < 0.7). All give the unsharded bits."""
    result = run_python(SHARDING, env=FOUR_DEVICES, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    cases = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(cases) == 28
    for case in cases:
        assert case["identical"], case
        if not case["channels"]:
            assert case["kept"], case
            assert case["forward"] == case["gradient"] == [], case
        elif case["radius"] == 5 or not case["shardy"]:
            assert case["forward"] == case["gradient"] == ["all-gather"], case
        else:
            assert case["forward"] == ["collective-permute"], case
            assert case["gradient"] == (["all-gather", "collective-permute"] if case["bias"] == 0 else
                                        ["collective-permute"]), case


def test_jax_sharding_example():
    result = run_python((EXAMPLES / "jax_sharding.py").read_text(), timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.endswith("same as on one device: True") for line in lines), lines
    assert all("forward none, gradient none" in line for line in lines[:3]), lines
    import jax

    exchanged = "collective-permute" in lines[3] and "all-gather" not in lines[3]
    assert exchanged if jax.config.jax_use_shardy_partitioner else "all-gather" in lines[3], lines


def test_keras_distribution_on_jax_trains_like_one_device():
    (output,) = run_group([example("keras_distribution.py")], TIMEOUT)
    found = re.findall(r"^(\w+): losses within (\S+) and weights within (\S+) of one device; "
                       r"collectives in a training step: (.*)$", output, re.M)
    assert [name for name, *_ in found] == ["DataParallel", "ModelParallel"], output[-3000:]
    for name, losses, weights, collectives in found:
        assert float(losses) <= 1e-6 and float(weights) <= 1e-6, (name, losses, weights)
    # DataParallel: the gradients' all-reduce alone; nothing gathers the LRN's activations.
    assert "all-gather" not in found[0][3] and "all-reduce" in found[0][3], found[0]


def test_jax_distributed_two_processes_train_like_one(tmp_path):
    (port,), (alone_port,) = free_ports(1), free_ports(1)
    two_devices = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    outputs = run_group([example("jax_multi_process.py", rank, 2, port, tmp_path / f"p{rank}.npz", env=two_devices)
                         for rank in range(2)], TIMEOUT)
    assert all("on 4 devices" in output for output in outputs), outputs
    run_group([example("jax_multi_process.py", 0, 1, alone_port, tmp_path / "alone.npz", env=two_devices)], TIMEOUT)
    assert_ranks_agree_with_one_process([tmp_path / "p0.npz", tmp_path / "p1.npz"], tmp_path / "alone.npz", 4)


@pytest.mark.parametrize("kind", ["module", "keras"])
def test_torch_ddp_two_ranks_train_like_one(tmp_path, kind):
    """Two gloo ranks; then one process that compiles the DDP model with torch.compile, which must neither break its
    graph at lrn_op nor change the result."""
    (port,), (alone_port,) = free_ports(1), free_ports(1)
    run_group([example("torch_ddp.py", rank, 2, port, tmp_path / f"r{rank}.npz", kind) for rank in range(2)], TIMEOUT)
    (output,) = run_group([example("torch_ddp.py", 0, 1, alone_port, tmp_path / "alone.npz", kind, "--compile")],
                          TIMEOUT)
    assert "graph breaks at lrn_op: 0;" in output, output[-3000:]
    assert_ranks_agree_with_one_process([tmp_path / "r0.npz", tmp_path / "r1.npz"], tmp_path / "alone.npz", 4)


def test_a_group_that_cannot_start_fails_within_its_bound(tmp_path):
    """Process 1 of 2 alone waits for a coordinator that never comes: the group is killed at its bound, with a message
    that names the member and shows its output."""
    (port,) = free_ports(1)
    with pytest.raises(GroupFailed, match=r"member 0 \(.*jax_multi_process\.py 1 2 .*\) did not finish within 20 s; "
                                          r"the group was killed"):
        run_group([example("jax_multi_process.py", 1, 2, port, tmp_path / "p1.npz")], 20)
    assert not (tmp_path / "p1.npz").exists()


def test_a_member_that_fails_stops_its_group():
    with pytest.raises(GroupFailed, match=r"member 1 \(-c raise SystemExit\(3\)\) exited with code 3; the group was "
                                          r"stopped") as failure:
        run_group([([sys.executable, "-c", "import time; time.sleep(300)"], {}),
                   ([sys.executable, "-c", "raise SystemExit(3)"], {})], 120)
    assert "--- member 0" in str(failure.value)
