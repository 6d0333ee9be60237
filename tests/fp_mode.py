"""Sets the calling thread's flush-to-zero mode through glibc's fegetenv / fesetenv, as a library that flushes
subnormals would (torch.set_flush_denormal does the same on x86-64): MXCSR's FTZ and DAZ bits on x86-64, FPCR's FZ
on aarch64. No framework needed, so every front end's test process can use it."""
import ctypes
import platform

_LIBM = ctypes.CDLL("libm.so.6")
# Where the control register sits in glibc's fenv_t, and its flush bits.
_CONTROL = {"x86_64": (28, 0x8040), "aarch64": (0, 1 << 24)}[platform.machine()]


def set_flush_to_zero(on):
    offset, bits = _CONTROL
    env = (ctypes.c_uint8 * 64)()
    if _LIBM.fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    control = ctypes.c_uint32.from_buffer(env, offset)
    control.value = control.value | bits if on else control.value & ~bits
    if _LIBM.fesetenv(env) != 0:
        raise OSError("fesetenv failed")
