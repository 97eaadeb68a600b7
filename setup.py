"""Build of the optional C extension ``gnss._scan`` (everything else is in pyproject.toml).

The extension is optional: when it cannot be compiled (no C compiler or Python headers)
the install goes on and the decoder uses its pure Python fast path (same output, slower).
``tests/gnss/test_native.py`` fails when it is missing unless FENCE_PURE_PYTHON=1 is set.
After editing gnss/_scan.c, rebuild with ``.venv/bin/pip install -e . --no-deps``.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gnss._scan",
            sources=["gnss/_scan.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"],
            optional=True,
        )
    ]
)
