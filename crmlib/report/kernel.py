"""Which Jupyter kernel runs the reports, and a check that it is the runner's own Python.

``CRMLIB_KERNEL`` names the kernel; by default it is ``crmlib`` (registered by ``make install``:
``python -m ipykernel install --sys-prefix --name crmlib``) when that kernelspec exists, else
``python3``. A kernelspec whose command is a bare ``python`` runs the runner's interpreter (jupyter
substitutes ``sys.executable``); one with an absolute path must live in the same environment, or the
notebooks would import another crmlib (or none).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import CrmlibError

__all__ = ["KERNEL_ENV", "resolve_kernel"]

KERNEL_ENV = "CRMLIB_KERNEL"
DEFAULT_KERNEL = "crmlib"
FALLBACK_KERNEL = "python3"
_BARE_PYTHON = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}


def _spec_python(name: str) -> str | None:
    """The interpreter a kernelspec starts; None if the spec does not exist."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None
    return spec.argv[0] if spec.argv else ""


def _same_python(argv0: str) -> bool:
    if argv0 in _BARE_PYTHON:
        return True  # jupyter_client replaces a bare 'python' with sys.executable
    here = Path(sys.executable).absolute()
    there = Path(argv0).absolute()
    # compare the environment (bin folder), not the resolved binary: venvs symlink one interpreter
    return there.parent == here.parent


def resolve_kernel() -> str:
    """The kernel name to run notebooks with (see the module docstring).

    Raises
    ------
    CrmlibError
        When the chosen kernel does not exist or runs another Python than this process.
    """
    wanted = os.environ.get(KERNEL_ENV)
    candidates = [wanted] if wanted else [DEFAULT_KERNEL, FALLBACK_KERNEL]
    problems = []
    for name in candidates:
        argv0 = _spec_python(name)
        if argv0 is None:
            problems.append(f"kernel '{name}' is not installed")
            continue
        if _same_python(argv0):
            return name
        problems.append(f"kernel '{name}' runs {argv0}, not {sys.executable}")
    raise CrmlibError(
        "no usable Jupyter kernel: " + "; ".join(problems)
        + f". Register one with `{sys.executable} -m ipykernel install --sys-prefix --name crmlib`"
        f" (make install does) or set {KERNEL_ENV}."
    )
