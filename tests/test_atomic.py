"""Outputs are complete or absent: SIGKILL a writer at many instants of the write and of the swap."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from delphi_signals import atomic

# a writer that publishes version A, then B, then A ... of a folder, forever, as Export does: every file
# written atomically into a staging folder, the manifest last, then the swap
WRITER = textwrap.dedent('''
    import importlib.util, json, sys
    from pathlib import Path

    # the module alone (it imports nothing of the package), so each trial starts in milliseconds
    spec = importlib.util.spec_from_file_location("atomic", sys.argv[3])
    atomic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(atomic)
    final = Path(sys.argv[1])
    n_files = int(sys.argv[2])
    print("ready", flush=True)
    i = 0
    while True:
        version = "AB"[i % 2]
        atomic.remove_stale(final)
        staging = atomic.staging_dir(final)
        names = [f"{k:04d}.csv" for k in range(n_files)]
        for name in names:
            atomic.write_text(staging / name, f"{version},{name}\\n" * 50, durable=False)
        atomic.write_text(staging / "_SUCCESS", json.dumps({"version": version, "files": names}))
        atomic.swap_dir(staging, final)
        i += 1
''')


def _check_complete(final):
    manifest = json.loads((final / "_SUCCESS").read_text())
    on_disk = sorted(p.name for p in final.iterdir() if p.name != "_SUCCESS")
    assert on_disk == manifest["files"]
    for name in on_disk:  # every file of one version, none torn
        assert (final / name).read_text() == f"{manifest['version']},{name}\n" * 50
    return manifest["version"]


def test_a_killed_writer_leaves_the_old_folder_or_the_new_one(tmp_path):
    final = tmp_path / "export" / "20201130"
    rng = random.Random(7)
    seen = set()
    for trial in range(24):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(final), "40", atomic.__file__],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25) if trial else 0.5)  # the first trial surely published once
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not final.exists():
            assert trial == 0 or pytest.fail("a published folder disappeared")
            continue
        seen.add(_check_complete(final))
        atomic.remove_stale(final)  # what the next run does first
        assert sorted(p.name for p in final.parent.iterdir()) == [final.name]
    assert seen == {"A", "B"}  # kills landed while either version was being replaced


def test_writing_failure_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "a.txt"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.writing(target) as handle:
            handle.write(b"new, half")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_fallback_swap_is_recovered_after_a_crash_between_its_renames(tmp_path):
    final = tmp_path / "day"
    final.mkdir()
    (final / "x").write_text("old")
    parked = tmp_path / ".day.old"
    os.rename(final, parked)  # the fallback's first rename happened, then the process died
    atomic.recover_dir(final)
    assert (final / "x").read_text() == "old" and not parked.exists()
