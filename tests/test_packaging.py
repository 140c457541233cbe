"""Packaging and the command line: a wheel works outside the checkout; the library loads no Luigi."""

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DELPHI_SIGNALS_GEODATA")}


def test_importing_the_library_loads_no_luigi():
    code = ("import sys, delphi_signals, delphi_signals.indicators.registry as r; "
            "[r.get_indicator(s) for s in r.sources()]; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'luigi'], 'luigi was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_python_m_delphi_signals_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "delphi_signals", "--help"], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert "usage: delphi-signals" in out and "run" in out and "exit codes: 0 ok" in out


def test_a_wheel_installed_outside_the_checkout_carries_its_geography(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(REPO)], check=True, env=CLEAN_ENV, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("delphi_signals-*.whl"))
    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, env=CLEAN_ENV, cwd=tmp_path)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the fresh environment sees this one's dependencies (a plain path: its .pth files, such as the editable
    # install of this checkout, are not processed there)
    (Path(purelib) / "current_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    script = textwrap.dedent("""
        import numpy as np, pandas as pd, delphi_signals as ds
        from delphi_signals.geo import geodata_dir
        from delphi_signals.indicators.registry import sources
        assert ds.__file__.startswith(%r), ds.__file__
        assert str(geodata_dir()).startswith(%r), geodata_dir()
        counties = ds.geo_values("county")[:400]
        days = pd.date_range("2020-06-01", periods=3)
        values = np.arange(len(counties) * 3, dtype=float).reshape(-1, 3)
        cube = ds.new_cube(counties, days, values, source="s", signal="x_num", geo_type="county")
        states = ds.aggregate(cube, "state")
        table = pd.read_csv(geodata_dir() / "counties.csv", dtype=str)
        expected = pd.Series(values[:, 0], index=counties).groupby(
            table.set_index(table.columns[0]).reindex(counties)["state_id"].values).sum()
        got = states.value.isel(time=0).to_series().dropna()
        assert np.allclose(got.loc[expected.index], expected.values), (got, expected)
        assert "jhu-csse" in sources()
        print("ok", len(expected))
    """ % (str(env_dir), str(env_dir)))
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, env=CLEAN_ENV,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok ")
