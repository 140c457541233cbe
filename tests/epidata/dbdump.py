"""What an import leaves behind, in comparable form: database rows by name (no surrogate ids, no load
timestamps) and the files under ``receiving/`` and ``archive/``."""

from __future__ import annotations

import gzip
from pathlib import Path

import sqlalchemy as sa

from delphi_signals.epidata import schema

FACT = ("geo_type", "geo_value", "source", "signal", "time_type", "time_value", "issue", "lag", "value", "stderr",
        "sample_size", "missing_value", "missing_stderr", "missing_sample_size")


def _facts(conn, table: sa.Table) -> list[tuple]:
    # plain SQL text: the driver's own floats, with no column-type conversion in between
    columns = ", ".join(f"g.{c}" if c in ("geo_type", "geo_value") else f"s.{c}" if c in ("source", "signal")
                        else f"f.{c}" for c in FACT)
    query = sa.text(f"SELECT {columns} FROM {table.name} f JOIN signal_dim s ON s.signal_key_id = f.signal_key_id "
                    "JOIN geo_dim g ON g.geo_key_id = f.geo_key_id")
    return sorted(tuple(row) for row in conn.execute(query))


def dump(engine) -> dict:
    """Rows of ``epimetric_full`` and ``epimetric_latest`` by name, markers, and distinct file outcomes."""
    with engine.connect() as conn:
        markers = sorted(tuple(r) for r in conn.execute(sa.select(schema.import_marker.c.marker,
                                                                   schema.import_marker.c.row_count)))
        out = schema.file_outcome.c
        outcomes = sorted(set(tuple(r) for r in conn.execute(
            sa.select(out.source, out.file_name, out.outcome, out.row_count, out.issue, out.marker))))
        ids_match = conn.execute(sa.text(
            "SELECT COUNT(*) FROM epimetric_latest l JOIN epimetric_full f ON f.epimetric_id = l.epimetric_id "
            "AND f.signal_key_id = l.signal_key_id AND f.geo_key_id = l.geo_key_id "
            "AND f.time_type = l.time_type AND f.time_value = l.time_value AND f.issue = l.issue")).scalar()
        return {"full": _facts(conn, schema.epimetric_full), "latest": _facts(conn, schema.epimetric_latest),
                "markers": markers, "outcomes": outcomes, "latest_ids_in_full": ids_match}


def latest_from_full(full: list[tuple]) -> list[tuple]:
    """The row of greatest issue per key, computed from the full table's rows in plain Python."""
    best = {}
    key_of = lambda r: r[:6]  # noqa: E731  (geo_type, geo_value, source, signal, time_type, time_value)
    for row in full:
        if key_of(row) not in best or row[6] > best[key_of(row)][6]:
            best[key_of(row)] = row
    return sorted(best.values())


def tree(data_dir) -> dict:
    """Every file under ``receiving/`` and ``archive/`` → its bytes (gzip archives decompressed)."""
    root = Path(data_dir)
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] not in ("receiving", "archive"):
            continue
        data = path.read_bytes()
        files[str(relative)] = gzip.decompress(data) if path.name.endswith(".gz") else data
    return files
