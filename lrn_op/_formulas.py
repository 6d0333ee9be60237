"""LRN's formulas and its first and second derivatives, written once over any array type whose arithmetic operators
work elementwise (TF tensors, JAX arrays, PyTorch tensors). Each caller supplies its framework's window sums and
hands over operands already at the precision it computes in (float64 where it can).

These serve where lrn_op's kernels cannot: TF inside XLA clusters, and every second derivative (TF, JAX and
PyTorch). cc/kernel/lrn-inl.h holds the same forward and backward math for the kernels, with the derivations.

Notation: W sums over the window [c - before, c + after] clipped to the tensor, W' over the transposed window
[c - after, c + before] (the channels whose windows hold c; W' = W for TF's symmetric one). N = bias + alpha W(x^2),
S = N^-beta, c = -2 alpha beta.
"""


def window_sums(before, after, depth_of, sum_over):
    """(W, W') for the window [c - before, c + after], from a framework's own sum: sum_over(v, b, a) adds v over
    [c - b, c + a] along the channels, zero past the edges, for b + a > 0; depth_of(v) is v's channel count. Extents
    past depth - 1 reach every channel already, and are cut to it."""

    def over(before, after):
        def window_sum(v):
            reach = max(depth_of(v) - 1, 0)
            b, a = min(before, reach), min(after, reach)
            return v if b + a == 0 else sum_over(v, b, a)

        return window_sum

    return over(before, after), over(after, before)


def normaliser(window, x, bias, alpha):
    return bias + alpha * window(x * x)


def forward(window, x, bias, alpha, beta):
    """y = x N^-beta."""
    return x * normaliser(window, x, bias, alpha) ** -beta


def gradient(window, transposed, dy, x, y, bias, alpha, beta):
    """dx_j = dy_j S_j + c x_j W'(dy y / N)_j, with y the given output (as TF's LRNGrad takes it)."""
    n = normaliser(window, x, bias, alpha)
    return dy * n ** -beta - 2.0 * alpha * beta * x * transposed(dy * y / n)


def gradient_of_gradient(window, transposed, g, dy, x, y, bias, alpha, beta):
    """The gradients of sum(g * dx) with respect to the gradient's three inputs (dy, x, y), dx as in `gradient`.

    sum_j g_j c x_j W'(t)_j = sum_i t_i c W(g x)_i, and dN_i/dx_k = 2 alpha x_k where k is in i's window, so:
      d/d dy_k = g_k S_k + c (y_k / N_k) W(g x)_k
      d/d y_k  = c (dy_k / N_k) W(g x)_k
      d/d x_k  = c g_k W'(dy y / N)_k                      (x_j explicitly)
               + c x_k W'(g dy S / N)_k                    (through S_j = N_j^-beta)
               - 2 alpha c x_k W'(dy y / N^2 W(g x))_k     (through 1 / N_i)
    """
    c = -2.0 * alpha * beta
    n = normaliser(window, x, bias, alpha)
    s = n ** -beta
    gx = window(g * x)
    d_dy = g * s + c * (y / n) * gx
    d_y = c * (dy / n) * gx
    d_x = (c * g * transposed(dy * y / n)
           + c * x * transposed(g * dy * s / n)
           - 2.0 * alpha * c * x * transposed(dy * y / (n * n) * gx))
    return d_dy, d_x, d_y
