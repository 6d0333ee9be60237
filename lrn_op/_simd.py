"""The SIMD path the kernels run on, against the one LRN_OP_SIMD asks for."""
import os
import platform
import warnings

# The SIMD paths a build for this architecture has (lrn_api.cc).
SIMD_PATHS = {"x86_64": ("baseline", "avx2", "avx512"), "AMD64": ("baseline", "avx2", "avx512"),
              "aarch64": ("neon",)}.get(platform.machine(), ("baseline",))


def check_simd_request(path_in_use):
    """Warns, once per process, when LRN_OP_SIMD asks for a path that is not the one the kernels run on: a name
    that is no path, or a path this CPU cannot run (lrn_api.cc then takes the best one it can)."""
    requested = os.environ.get("LRN_OP_SIMD")
    if requested is None or requested == path_in_use or getattr(check_simd_request, "warned", False):
        return
    check_simd_request.warned = True
    if requested not in SIMD_PATHS:
        reason = f"names no SIMD path (the paths are {', '.join(SIMD_PATHS)})"
    else:
        reason = "asks for a path this CPU cannot run"
    warnings.warn(f"LRN_OP_SIMD={requested!r} {reason}: lrn_op runs the {path_in_use} path", RuntimeWarning,
                  stacklevel=3)
