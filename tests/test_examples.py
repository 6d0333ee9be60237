"""Every file in examples/ runs, and prints what its docstring promises. (The distributed ones are run by
test_scale_out.py and test_multi_worker.py.) The docs include these files as they are."""
import re

import pytest

import bounds
from conftest import run_python
from processes import EXAMPLES, example, run_group
from test_backends import BACKENDS

DISTRIBUTED = {"jax_multi_process.py", "jax_sharding.py", "keras_distribution.py", "tf_multi_worker.py",
               "torch_ddp.py"}
TIMEOUT = 600


def run(name, *args, env=None):
    (output,) = run_group([example(name, *args, env={"TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})], TIMEOUT)
    return output


def test_every_example_is_run_by_a_test():
    here = {"numpy_front_end.py", "jax_front_end.py", "torch_front_end.py", "tensorflow_ops.py", "keras_backends.py",
            "replace_builtin_saved_model.py"}
    assert {path.name for path in EXAMPLES.glob("*.py")} == here | DISTRIBUTED


def test_numpy_front_end():
    assert "0.071428575 0.044444446" in run("numpy_front_end.py")


def test_tensorflow_ops():
    output = run("tensorflow_ops.py")
    assert "0.071428575 0.044444446" in output and "(1, 2, 2, 8) (1, 2, 2, 8) True" in output, output[-2000:]


def test_jax_front_end():
    assert "y (8, 27, 27, 256) float32, dx (8, 27, 27, 256), vmap (2, 8, 27, 27, 256)" in run("jax_front_end.py")


def test_torch_front_end():
    output = run("torch_front_end.py")
    assert ("compiled gives the same: True; matches torch.nn.LocalResponseNorm: True; replaced model: "
            "GeneratedBackwardFor_lrn_op_local_response_normalization") in output, output[-2000:]


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_backends(tmp_path, backend):
    output = run("keras_backends.py", tmp_path / "model.keras", env={"KERAS_BACKEND": backend})
    assert re.search(rf"^{backend}: loss .*reloaded model predicts the same: True$", output, re.M), output[-2000:]


def test_replace_builtin_on_a_saved_model(tmp_path):
    output = run("replace_builtin_saved_model.py", tmp_path / "saved")
    found = re.search(r"replaced: True; largest difference (\S+)$", output, re.M)
    assert found, output[-2000:]
    # TF's float32 kernel against lrn_op's: both within their bounds of the exact result (outputs are below 1).
    assert float(found.group(1)) <= bounds.TF_BUILTIN["float32"] + bounds.FORWARD["float32"]


def test_torch_optimizer_state_needs_compile_false_where_torch_is_missing(tmp_path):
    """What the docs say of a .keras file saved with a torch optimizer's state: Keras cannot load it without PyTorch,
    and compile=False can."""
    path = tmp_path / "model.keras"
    run("keras_backends.py", path, env={"KERAS_BACKEND": "torch"})
    result = run_python(f"""
import sys
sys.modules["torch"] = None  # as where PyTorch is not installed
import keras, lrn_op
try:
    keras.models.load_model({str(path)!r})
except TypeError as error:
    print("refused:", error)
model = keras.models.load_model({str(path)!r}, compile=False)
print("loaded:", type(model.layers[1]).__name__)
""", env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "refused: Could not deserialize class 'Adam'" in result.stdout, result.stdout
    assert "loaded: LocalResponseNormalization" in result.stdout
