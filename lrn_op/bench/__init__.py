"""The benchmark: `python -m lrn_op.bench --help` (lrn_op/bench/__main__.py says what each table times)."""
