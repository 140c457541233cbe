"""Run code the upstream way: delphi-utils 0.3.24 in its own virtualenv, as a subprocess.

The virtualenv is built once (``pip install 'delphi-utils==0.3.24' 'numpy<2' 'cvxpy>=1.5,<1.6'``) under
``$DELPHI_SIGNALS_ORACLE_VENV`` (default ``~/.cache/delphi-signals/oracle-venv-0.3.24``) and reused. The oracle
process is pinned to one BLAS thread (``OPENBLAS_NUM_THREADS=1``), its best setting, so ratios are conservative.

Usage from a benchmark::

    from oracle import run_oracle
    result = run_oracle(ORACLE_SCRIPT, {"input": "/tmp/x.npy"})   # script prints one JSON object
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ORACLE_PINS = ["delphi-utils==0.3.24", "numpy<2", "cvxpy>=1.5,<1.6"]


def oracle_venv() -> Path:
    default = Path.home() / ".cache" / "delphi-signals" / "oracle-venv-0.3.24"
    return Path(os.environ.get("DELPHI_SIGNALS_ORACLE_VENV", default))


def ensure_oracle_python() -> Path:
    """Path of the oracle virtualenv's python, creating the virtualenv on first use."""
    root = oracle_venv()
    python = root / "bin" / "python"
    marker = root / ".installed"
    if not marker.exists():
        print(f"building the oracle virtualenv in {root} (one time)", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ORACLE_PINS], check=True)
        marker.write_text("\n".join(ORACLE_PINS))
    return python


def run_oracle(script: str, args: dict, timeout: float = 3600) -> dict:
    """Run ``script`` (Python source) in the oracle venv; it reads ``ARGS`` (a dict) and prints one JSON line."""
    python = ensure_oracle_python()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    code = f"import json, sys\nARGS = json.loads({json.dumps(json.dumps(args))})\n{script}"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"oracle script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
