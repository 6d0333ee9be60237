"""Version strings as numbers, for the loader's and the JAX front end's checks of what lrn_op was built against."""


def release(version):
    """The leading numbers of a version string, for comparison: "2.22.0-dev20261101" -> (2, 22, 0)."""
    numbers = []
    for part in version.replace("-", ".").split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)
