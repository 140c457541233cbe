"""Faults, with nothing lost, on SQLite and MariaDB: a fuzzer of malformed files, importers killed with SIGKILL
at random points then rerun, and two importers started at once."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import import_child
from dbdump import dump, latest_from_full, tree
from delphi_signals.epidata import schema
from delphi_signals.epidata.importer import import_receiving
from delphi_signals.geo.tables import geo_values

FUZZ_ISSUE = dt.date(2020, 6, 1)
STATES = ["ak", "al", "ca", "de", "fl", "ga", "ny", "pa", "pr", "tx", "vi", "wa"]
COUNTIES = ["01001", "01003", "06037", "36061", "42003", "42101", "48201", "72001", "01000", "78030"]
HRRS = ["1", "7", "12", "220", "456", "457"]
GEO_IDS = {"state": STATES, "county": COUNTIES, "hrr": HRRS}
EDGE_FLOATS = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 0.1, 1 / 3, -2 / 3, 123456.7890123,
               999999.99999995, 1e6, -1e6, 2.0**-30]
MISSING_TOKENS = ["NA", "nan", "NaN", "none", "None", ""]
BAD_NUMBERS = ["inf", "-Infinity", "INF", "+inf", "infinity", "1e999", "-1e400", "1" * 400, "-nan", "nan1", "NaNQ",
               "1..2", "1e", "abc", "0x1A", "1_000", "١٢", " 1", "1 ", '"1"', "--1", "1,5", "+-1", "∞", "e5"]
# malformed ids, and well-formed ones no geography table knows (zz, us and the unused county and HRR numbers)
BAD_GEO = {"state": ["c", "cal", "12", "c'", "c;", "..", "c/", "", "zz", "us"],
           "county": ["1001", "0100a", "99999", "00999", "c;", "06999", "80000"],
           "hrr": ["0", "501", "1.5", "x", "-3", "458", "500"]}
BAD_NAMES = [
    "20200230_{geo}_{signal}.csv", "20201301_{geo}_{signal}.csv", "20200000_{geo}_{signal}.csv",
    "weekly_202153_{geo}_{signal}.csv", "weekly_202000_{geo}_{signal}.csv", "weekly_202054_{geo}_{signal}.csv",
    "20200602_{geo}_{signal}.csv", "weekly_202024_{geo}_{signal}.csv", "20200301_zip_{signal}.csv",
    "20200301_city_{signal}.csv", "20200301_{geo}.csv", "{geo}_20200301_{signal}.csv", "2020030_{geo}_{signal}.csv",
    "20200301_{geo}_{signal};drop.csv", "20200301_{geo}_{signal}'.csv", '20200301_{geo}_{signal}".csv',
    "20200301_{geo}_{signal}..x.csv", "20200301_{geo}_{signal} x.csv", "20200301_{geo}_{signal}é.csv",
    "20200301_{geo}_" + "s" * 65 + ".csv", "20200301_{geo}_{signal}(1).csv", "20200301_{geo}_*{signal}.csv",
]


# -- the fuzzer ------------------------------------------------------------------------------------------------


def _garbage(rnd, low, high) -> bytes:
    return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(low, high)))


def _number(rnd, low=-1e6, high=1e6, allow_missing=True):
    """A number token and the value it means (``None``: missing)."""
    if allow_missing and rnd.randint(0, 4) == 0:
        return rnd.choice(MISSING_TOKENS), None
    shape = rnd.randint(0, 2)
    if shape == 0:
        value = float(rnd.randint(int(low), int(high)))
    elif shape == 1:
        value = rnd.uniform(low, high)
    else:  # the awkward ones: zeros, subnormals, the smallest normal, thirds, the range's ends
        value = rnd.choice([v for v in EDGE_FLOATS if low <= v <= high])
    spell = rnd.choice([repr, "{:.7f}".format, "{:g}".format, "{:.3e}".format, "{:E}".format,
                        lambda x: repr(x) if repr(x).startswith("-") else "+" + repr(x)])
    token = spell(value)
    return token, float(token)


def good_file(rnd, signal):
    """A valid file in one of the many spellings the format allows, and the rows it must load."""
    weekly = (rnd.random() < 0.5)
    geo_type = rnd.choice(sorted(GEO_IDS))
    if weekly:
        week = rnd.randint(1, 22)
        name, time_value, issue, lag = f"weekly_2020{week:02d}_{geo_type}_{signal}.csv", 202000 + week, 202023, 23 - week
    else:
        day = dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randint(0, 152))
        time_value = int(day.strftime("%Y%m%d"))
        name, issue, lag = f"{time_value}_{geo_type}_{signal}.csv", 20200601, (FUZZ_ISSUE - day).days
    with_codes, extra = (rnd.random() < 0.5), (rnd.random() < 0.5)
    columns = ["geo_id", rnd.choice(["val", "value"]), rnd.choice(["se", "stderr"]),
               "sample_size"] + (["missing_val", "missing_se", "missing_sample_size"] if with_codes else [])
    columns += ["direction"] if extra else []
    order = list(range(len(columns)))
    rnd.shuffle(order)
    ids = rnd.sample(GEO_IDS[geo_type], rnd.randint(1, min(8, len(GEO_IDS[geo_type]))))
    lines, expected = [], []
    for geo in ids:
        fields = {"geo_id": geo.upper() if geo_type == "state" and (rnd.random() < 0.5) else geo}
        values, codes = [], []
        for column, low in ((columns[1], -1e6), (columns[2], 0.0), ("sample_size", 0.0)):
            token, value = _number(rnd, low=low)
            fields[column] = token
            values.append(value)
            if with_codes:
                if value is None:
                    code_token = rnd.choice(["1", "2", "3", "4", "5", "", "nan", "3.0"])
                    code = int(float(code_token)) if code_token not in ("", "nan") else 5
                else:
                    code_token, code = rnd.choice(["0", "0.0", ""]), 0
                codes.append(code)
                fields["missing_" + {"val": "val", "value": "val", "se": "se", "stderr": "se"}.get(column, column)] = (
                    code_token)
            else:
                codes.append(0 if value is not None else 5)
        if extra:
            fields["direction"] = rnd.choice(["", "NA", "up", "é-down", "1"])
        lines.append(",".join(fields[columns[i]] for i in order))
        expected.append((geo_type, geo, "fuzz", signal, "week" if weekly else "day", time_value, issue, lag,
                         *values, *codes))
    newline = rnd.choice(["\n", "\r\n"])
    text = newline.join([",".join(columns[i] for i in order)] + lines) + rnd.choice(["", newline, newline * 2])
    data = text.encode()
    if (rnd.random() < 0.5) and (rnd.random() < 0.5):
        data = b"\xef\xbb\xbf" + data
    return name, data, expected


def bad_file(rnd, signal, kind):
    """A file broken in exactly one way that the rules must catch (its name, header, a row, its bytes)."""
    name, data, expected = good_file(rnd, signal)
    geo_type = expected[0][0]
    head, _, body = data.partition(b"\n")
    lines = body.split(b"\n")
    rows = [i for i, line in enumerate(lines) if line.strip(b"\r")]
    columns = head.decode("utf-8-sig").rstrip("\r").split(",")
    if kind == "name":
        return rnd.choice(BAD_NAMES).format(geo=geo_type, signal=signal), data
    if kind == "header":
        choice = rnd.choice(["drop", "twice", "garbage", "utf16", "empty", "only"])
        if choice == "drop":
            gone = rnd.choice([c for c in columns if c in ("geo_id", "val", "value", "se", "stderr", "sample_size")])
            return name, ",".join("x_" + c if c == gone else c for c in columns).encode() + b"\n" + body
        if choice == "twice":
            return name, (head.rstrip(b"\r") + b",geo_id\n" + b"\n".join(l.rstrip(b"\r") + b",x" for l in lines
                                                                          if l.strip(b"\r")))
        if choice == "garbage":
            return name, _garbage(rnd, 1, 40).replace(b"geo_id", b"geo-id") + b"\n" + body
        if choice == "utf16":
            return name, data.decode("utf-8-sig").encode("utf-16")
        return name, b"" if choice == "empty" else head + b"\n"
    index = rnd.choice(rows)
    row = lines[index].rstrip(b"\r").decode("utf-8")
    fields = row.split(",")
    if kind == "row":
        choice = rnd.choice(["number", "negative", "geo", "duplicate", "fields", "huge"])
        quantity_at = [i for i, c in enumerate(columns) if c in ("val", "value", "se", "stderr", "sample_size")]
        if choice == "number":
            fields[rnd.choice(quantity_at)] = rnd.choice(BAD_NUMBERS)
        elif choice == "negative":
            at = rnd.choice([i for i in quantity_at if columns[i] not in ("val", "value")])
            fields[at] = rnd.choice(["-1", "-0.5", "-1e-9", "-7E2"])
        elif choice == "geo":
            fields[columns.index("geo_id")] = rnd.choice(BAD_GEO[geo_type])
        elif choice == "duplicate":
            return name, data.rstrip(b"\r\n") + b"\n" + row.encode() + b"\n"
        elif choice == "fields":
            fields = fields[:-1] if (rnd.random() < 0.5) else fields + ["1"]
        else:
            fields[rnd.choice(quantity_at)] = "9" * rnd.randint(400, 300_000)
        new = ",".join(fields).encode()
    else:
        at = rnd.randint(0, len(row))
        junk = rnd.choice([b"\x00", b"\xff", b"\xc3\x28", b"\xe9", b"\x80abc"])
        new = row.encode()[:at] + junk + row.encode()[at:]
        if (rnd.random() < 0.5):  # a huge line of garbage as well
            new += b"," + _garbage(rnd, 10, 50) * 5000
    lines[index] = new
    return name, head + b"\n" + b"\n".join(lines)


_FUZZ_COUNTER = iter(range(10**9))


@settings(max_examples=40, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_fuzzed_files_never_crash_never_load_a_bad_row_always_give_a_reason(tmp_path, engine, data):
    example = next(_FUZZ_COUNTER)
    root = tmp_path / f"fuzz{example}"
    folder = root / "receiving" / "fuzz"
    folder.mkdir(parents=True)
    files, expected_rows = {}, []
    for i in range(25):
        signal = f"f{example}_{i}"
        # hypothesis picks the kind of each file and a seed; the seed spells out its details (fast to draw)
        kind = data.draw(st.sampled_from(["good", "name", "header", "row", "bytes"]))
        rnd = random.Random(data.draw(st.integers(0, 2**32 - 1)))
        if kind == "good":
            name, content, rows = good_file(rnd, signal)
            expected_rows += rows
            files[name] = (content, True)
        else:
            name, content = bad_file(rnd, signal, kind)
            files[name] = (content, False)
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)
    summary = import_receiving(root, engine, issue=FUZZ_ISSUE)  # must not raise
    good = {n for n, (_, ok) in files.items() if ok}
    assert summary["files_found"] == len(files) and summary["files_ok"] == len(good), summary["failed"]
    assert summary["files_failed"] == len(files) - len(good) and not list(folder.iterdir())
    for name, (content, ok) in files.items():
        if ok:
            continue
        failed = root / "archive" / "failed" / "fuzz" / name
        assert failed.read_bytes() == content
        report = json.loads((failed.parent / f"{name}.reason.json").read_text())
        assert report["error_count"] >= 1 and report["errors"][0]["problem"] and report["reason"]
    state = dump(engine)
    assert [r for r in state["full"] if r[3].startswith(f"f{example}_")] == sorted(expected_rows)
    assert state["latest"] == latest_from_full(state["full"])


# -- killed and concurrent importers ---------------------------------------------------------------------------

KILL_ISSUE = "2020-03-20"
KILL_BATCH = 3  # small batches: many commit points for a kill to fall between


def make_delivery(root: Path, seed: int = 11) -> None:
    """33 files: county and state days of two sources, an older issue folder arriving late, a weekly
    issue folder, and four bad files."""
    rng = np.random.default_rng(seed)
    known = geo_values("county")
    counties = [c for state in ("01", "06", "36", "42") for c in known if c[:2] == state and c[2:] != "000"][:240]

    def write(folder, name, geo_ids, missing=0.1):
        folder.mkdir(parents=True, exist_ok=True)
        values = rng.gamma(2.0, 50.0, len(geo_ids)).round(4)
        lines = ["geo_id,val,se,sample_size"] + [
            f"{g},{'NA' if rng.random() < missing else v},NA,NA" for g, v in zip(geo_ids, values)]
        (folder / name).write_text("\n".join(lines) + "\n")

    receiving = root / "receiving"
    for day in range(1, 11):
        write(receiving / "alpha", f"202003{day:02d}_county_cases.csv", counties)
        write(receiving / "alpha", f"202003{day:02d}_state_cases.csv", STATES)
    for day in range(5, 11):  # an older issue, imported after the newer one: it must not become latest
        write(receiving / "issue_20200315" / "alpha", f"202003{day:02d}_county_cases.csv", counties[:100])
    for week in (8, 9, 10):
        write(receiving / "issue_20200325" / "beta", f"weekly_2020{week:02d}_state_deaths.csv", STATES)
    (receiving / "alpha" / "20200301_state_bad.csv").write_text("geo_id,val,se,sample_size\nca,inf,NA,NA\n")
    (receiving / "alpha" / "20200231_state_cases.csv").write_text("geo_id,val,se,sample_size\nca,1,NA,NA\n")
    (receiving / "beta" / "20200301_state_dup.csv").parent.mkdir(parents=True, exist_ok=True)
    (receiving / "beta" / "20200301_state_dup.csv").write_text("geo_id,val,se,sample_size\nca,1,NA,NA\nca,2,NA,NA\n")
    (receiving / "beta" / "20200301_state_head.csv").write_text("geo_id,val,se,sample_size\n")


def settled_tree(data_dir: Path) -> dict:
    """The files an import leaves, without half-written temporaries and with reasons minus their time stamp."""
    files = {}
    for name, content in tree(data_dir).items():
        if name.endswith(".part"):
            continue
        if name.endswith(".reason.json"):
            report = json.loads(content)
            report.pop("failed_at")
            content = report
        files[name] = content
    return files


class Databases:
    """Fresh databases of the backend of ``db_url``: SQLite files, or MariaDB databases dropped at the end."""

    def __init__(self, db_url: str, folder: Path):
        self.url, self.folder, self.created = sa.engine.make_url(db_url), folder, []

    def new(self, label: str) -> str:
        if self.url.get_backend_name() == "sqlite":
            return f"sqlite:///{self.folder / f'{label}.sqlite'}"
        name = f"{self.url.database}_{label}"
        with self._server().connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _server(self):
        return sa.create_engine(self.url.set(database=None), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def drop_all(self):
        if self.created:
            with self._server().connect() as conn:
                for name in self.created:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def databases(db_url, tmp_path):
    made = Databases(db_url, tmp_path)
    yield made
    made.drop_all()


def emptied(url: str) -> str:
    """``url`` after deleting every row and seeding again: as a fresh database after 'db init', without the DDL."""
    engine = schema.engine_for(url)
    try:
        if not sa.inspect(engine).has_table(schema.import_marker.name):
            schema.create_schema(engine)
        with engine.begin() as conn:
            for table in reversed(schema.metadata.sorted_tables):
                conn.execute(table.delete())
            for table, row in schema.SEED_ROWS.items():
                conn.execute(table.insert().values(**row))
    finally:
        engine.dispose()
    return url


def _dump_url(url: str) -> dict:
    engine = schema.engine_for(url)
    try:
        return dump(engine)
    finally:
        engine.dispose()


def _clean_import(template: Path, target: Path, url: str, ctx) -> float:
    shutil.copytree(template, target)
    started = time.perf_counter()
    child = ctx.Process(target=import_child.run_import, args=(str(target), url, KILL_ISSUE, KILL_BATCH))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    return time.perf_counter() - started


def _committed_files(engine) -> int:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("import_marker"):
            return 0
        return conn.execute(sa.select(sa.func.count()).select_from(schema.import_marker)).scalar()


def _wait_until_committed(url: str, child, files: int, deadline: float) -> None:
    """Return once the importer in ``child`` has committed ``files`` files (or ended, or ``deadline`` s passed)."""
    engine = schema.engine_for(url)
    stop = time.monotonic() + deadline
    try:
        while child.is_alive() and time.monotonic() < stop:
            try:
                if _committed_files(engine) >= files:
                    return
            except sa.exc.OperationalError:  # the schema is being created: not yet
                pass
            time.sleep(0.005)
    finally:
        engine.dispose()


def test_sigkill_at_random_points_then_rerun_equals_a_clean_import(tmp_path, databases):
    ctx = import_child.context()
    template = tmp_path / "template"
    make_delivery(template)
    reference_url, trial_url = emptied(databases.new("ref")), databases.new("kill")
    duration = _clean_import(template, tmp_path / "ref", reference_url, ctx)
    reference, reference_files = _dump_url(reference_url), settled_tree(tmp_path / "ref")
    assert reference["latest"] == latest_from_full(reference["full"]) and len(reference["markers"]) == 29
    assert {r[6] for r in reference["latest"] if r[3] == "cases" and r[0] == "county"} == {20200320}
    rng = random.Random(20201130)
    progress_at_kill = []
    for trial in range(20):
        url, folder = emptied(trial_url), tmp_path / f"k{trial}"
        shutil.copytree(template, folder)
        child = ctx.Process(target=import_child.run_import, args=(str(folder), url, KILL_ISSUE, KILL_BATCH))
        child.start()
        # kill at a point of the run chosen by progress, not by time, so the spread holds on a loaded machine
        _wait_until_committed(url, child, rng.randrange(len(reference["markers"])), deadline=10 * duration + 60)
        time.sleep(rng.uniform(0.0, 0.05))
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first
            pass
        child.join(60)
        engine = schema.engine_for(url)
        try:
            with engine.connect() as conn:
                committed = (conn.execute(sa.select(sa.func.count()).select_from(schema.import_marker)).scalar()
                             if sa.inspect(conn).has_table("import_marker") else 0)
            progress_at_kill.append((child.exitcode, committed))
            import_receiving(folder, engine, issue=KILL_ISSUE)  # the rerun, in default batches
            assert dump(engine) == reference, f"trial {trial}: killed after {committed} committed files"
        finally:
            engine.dispose()
        assert settled_tree(folder) == reference_files, f"trial {trial}"
    killed = [committed for code, committed in progress_at_kill if code == -signal.SIGKILL]
    # the kills landed at several points of the run: before, between and after commits (each kill waits for a
    # random number of committed files, so the spread does not depend on the machine's load)
    assert len(killed) >= 10, progress_at_kill
    assert min(killed) < len(reference["markers"]) and max(killed) > 0 and len(set(killed)) >= 3, progress_at_kill


def test_two_importers_at_once_equal_one_after_the_other(tmp_path, databases):
    ctx = import_child.context()
    template = tmp_path / "template"
    make_delivery(template)
    sequential_url, concurrent_url = emptied(databases.new("seq")), databases.new("concurrent")
    _clean_import(template, tmp_path / "seq", sequential_url, ctx)
    child = ctx.Process(target=import_child.run_import, args=(str(tmp_path / "seq"), sequential_url, KILL_ISSUE))
    child.start()
    child.join(60)  # the second one after the first: it finds nothing left
    assert child.exitcode == 0
    reference, reference_files = _dump_url(sequential_url), settled_tree(tmp_path / "seq")
    for trial in range(3):
        url, folder = emptied(concurrent_url), tmp_path / f"c{trial}"  # both start on an existing schema
        shutil.copytree(template, folder)
        children = [ctx.Process(target=import_child.run_import, args=(str(folder), url, KILL_ISSUE, KILL_BATCH))
                    for _ in range(2)]
        for c in children:
            c.start()
        for c in children:
            c.join(120)
        assert [c.exitcode for c in children] == [0, 0]
        assert _dump_url(url) == reference, f"trial {trial}"
        assert settled_tree(folder) == reference_files, f"trial {trial}"
