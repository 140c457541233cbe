"""Command line: ``delphi-signals <command>`` (or ``python -m delphi_signals``).

Exit codes: 0 success, 1 the job ran and failed (a check or a task failed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .log import get_logger


def _demo(args) -> int:
    """Export a seeded synthetic county cube to Delphi CSVs, read it back and check the round trip."""
    import numpy as np

    from .cube import check_cube
    from .io import read_csvs, write_csvs
    from .testing import make_cube

    log = get_logger("delphi_signals.demo")
    started = time.perf_counter()
    cube = make_cube(n_geo=args.geos, days=args.days, nan_fraction=0.05, seed=args.seed, source="demo",
                     signal="simulated_rate_prop")
    export_dir = Path(args.data_root) / "export" / "demo"
    paths = write_csvs(cube, export_dir)
    back = check_cube(read_csvs(export_dir))
    same = bool(np.allclose(back.value.values, cube.value.round(7).values, equal_nan=True, rtol=0, atol=0))
    summary = {"files": len(paths), "export_dir": str(export_dir), "round_trip_exact": same,
               "elapsed_seconds": round(time.perf_counter() - started, 3)}
    log.info("demo finished", **summary)
    print(json.dumps(summary))
    return 0 if same else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="delphi-signals", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="export a simulated county cube and read it back (offline)")
    demo.add_argument("--data-root", default="var", help="where export/ is written (default ./var)")
    demo.add_argument("--geos", type=int, default=3300)
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
