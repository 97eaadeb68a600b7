"""Build of the optional C extensions (everything else is in pyproject.toml): ``gnss._scan``
(the NMEA scanner and the replay merge step) and ``fence.runtime._tracks`` (the live
engine's track recording lines).

Both are optional: when they cannot be compiled (no C compiler or Python headers) the
install goes on and the pure Python paths run instead (same output, slower).
``tests/gnss/test_native.py`` and ``tests/live/test_tracks.py`` fail when they are missing
unless FENCE_PURE_PYTHON=1 is set. After editing a C file, rebuild with
``.venv/bin/pip install -e . --no-deps``.
"""

from setuptools import Extension, setup

EXTENSIONS = [
    Extension(
        "gnss._scan",
        sources=["gnss/_scan.c"],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"],
        optional=True,
    ),
    Extension(
        "fence.runtime._tracks",
        sources=["fence/runtime/_tracks.c"],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror"],
        optional=True,
    ),
]
"""The C extensions; scripts/sanitize builds the same list with the sanitizers."""

if __name__ == "__main__":  # how setuptools' build backend runs this file
    setup(ext_modules=EXTENSIONS)
