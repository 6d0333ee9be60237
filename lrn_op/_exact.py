"""The exact_bias_alpha_beta attribute of lrn_op's TF ops: bias, alpha and beta at double precision, as text."""
EXACT = ("bias", "alpha", "beta")


def exact_text(attrs):
    """bias, alpha and beta as the ops' exact_bias_alpha_beta attribute: Python's shortest repr of each double,
    which reads back as the same double (cc/lrn_api.cc: parse_exact_params)."""
    return " ".join(repr(attrs[key]) for key in EXACT)


def parse_exact_text(text):
    """The parameters an exact_bias_alpha_beta attribute holds; none where it is empty (graphs saved before it)."""
    return dict(zip(EXACT, map(float, text.split()))) if text else {}
