"""What a fresh interpreter has imported after some statements (import-cost tests)."""

from __future__ import annotations

import ast
import subprocess
import sys


def modules_loaded(statements: str, names) -> list[str]:
    """Those of ``names`` in ``sys.modules`` of a new Python process after ``statements`` ran."""
    code = f"{statements}\nimport sys\nprint(sorted(m for m in {tuple(names)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout.strip())
