import os
import sys
import zlib

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The tests exercise the installed package (`pip install .`): the source tree's lrn_op/ has no compiled libraries,
# and `python -m pytest` would put it first on sys.path.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]


@pytest.fixture
def rng(request):
    # A fixed seed per test (crc32: str hashes change from process to process), so a failure reproduces alone.
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def f32(value):
    """The value as the op sees it: bias, alpha and beta are float32 attributes."""
    return float(np.float32(value))
