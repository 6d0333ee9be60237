"""TF's private modules that lrn_op imports (docs/internals.md: "TensorFlow's private modules"): each name is still
there in the TF installed, and the docs' table lists every private import in the package."""
import importlib
import re
from pathlib import Path

import pytest

import lrn_op

PACKAGE = Path(lrn_op.__file__).parent
INTERNALS = Path(__file__).resolve().parents[1] / "docs" / "internals.md"
# What lrn_op uses from each private module.
USED = {
    "tensorflow.python.eager.context": ["context"],
    "tensorflow.python.framework.kernels": ["get_registered_kernels_for_op"],
    "tensorflow.python.framework.ops": ["gradient_registry"],
    "tensorflow.python.ops.control_flow_util": ["GraphOrParentsInXlaContext"],
}


@pytest.mark.parametrize("module", sorted(USED))
def test_each_private_import_still_works(module):
    try:
        imported = importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"lrn_op imports {module}, which this TF no longer has: {error}")
    missing = [name for name in USED[module] if not hasattr(imported, name)]
    assert not missing, f"lrn_op uses {module}.{', '.join(missing)}, which this TF no longer has"


def test_the_docs_list_every_private_import():
    found = set()
    for source in PACKAGE.rglob("*.py"):
        found.update(re.findall(r"^\s*from (tensorflow\.python[\w.]*) import (\w+)", source.read_text(), re.M))
    imported = {f"{module}.{name}" for module, name in found}
    assert imported == set(USED), "USED must name every private TF import in lrn_op/"
    table = INTERNALS.read_text()
    missing = [module for module in USED if f"`{module}`" not in table]
    assert not missing, f"docs/internals.md does not list {missing}"
