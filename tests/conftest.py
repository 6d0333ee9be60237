import os
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The tests exercise the installed package (`pip install .`): the source tree's lrn_op/ has no compiled libraries,
# and `python -m pytest` would put it first on sys.path.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]


@pytest.fixture
def rng(request):
    # A seed per test, so that a failure reproduces on its own.
    return np.random.default_rng(abs(hash(request.node.nodeid)) % 2**32)


def f32(value):
    """The value as the op sees it: bias, alpha and beta are float32 attributes."""
    return float(np.float32(value))
