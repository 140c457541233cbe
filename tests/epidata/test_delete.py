"""Physical deletion on SQLite and MariaDB: upstream's delete_batch scenario, CSV keys, bad key files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from delphi_signals.epidata import delete_batch, store
from delphi_signals.errors import InputError

from storecheck import check_invariant, rows


def upstream_scenario():
    """Upstream's integration data: keys with issues 1,2 / 1,2,3 / 1 for two time values (11 rows)."""
    batches = []
    for time_value in (20200401, 20200402):
        for geo, issues in (("d_nonlatest", [20200501, 20200502]), ("d_latest", [20200501, 20200502, 20200503])):
            for issue in issues:
                batches.append(rows([geo], issue, time_value=time_value, geo_type="msa", values=[issue % 100]))
    batches.append(rows(["d_justone"], 20200501, time_value=20200401, geo_type="msa", values=[1.0]))
    return pd.concat(batches, ignore_index=True)


def test_delete_batch_repoints_latest_or_drops_the_key(engine, tmp_path):
    with store.locked_transaction(engine) as conn:
        assert store.load_rows(conn, upstream_scenario()) == 11
    keys = tmp_path / "deletions.csv"
    keys.write_text(
        "geo_id,value,stderr,sample_size,issue,time_value,geo_type,signal,source\n"
        "d_nonlatest,0,0,0,20200501,20200401,msa,cases,demo\n"
        "d_latest,0,0,0,20200503,20200401,msa,cases,demo\n"
        "d_justone,0,0,0,20200501,20200401,msa,cases,demo\n"
        "not_stored,0,0,0,20200501,20200401,msa,cases,demo\n")
    assert delete_batch(engine, keys) == 3
    full, latest = check_invariant(engine)
    assert len(full) == 8
    remaining = set(zip(full.geo_value, full.time_value, full.issue))
    assert ("d_nonlatest", 20200401, 20200501) not in remaining and ("d_latest", 20200401, 20200503) not in remaining
    assert "d_justone" not in set(full.geo_value) and "d_justone" not in set(latest.geo_value)
    by_key = latest.set_index(["geo_value", "time_value"])
    assert by_key.loc[("d_latest", 20200401), "issue"] == 20200502  # fell back to the newest remaining issue
    assert by_key.loc[("d_latest", 20200401), "value"] == 2.0
    assert by_key.loc[("d_latest", 20200402), "issue"] == 20200503  # other time value untouched
    assert by_key.loc[("d_nonlatest", 20200401), "issue"] == 20200502
    assert len(latest) == 4


def test_delete_batch_from_a_frame_and_twice_is_idempotent(engine):
    data = upstream_scenario()
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, data)
    doomed = data[data["issue"] == 20200502]
    assert delete_batch(engine, doomed) == 4
    assert delete_batch(engine, doomed) == 0
    full, latest = check_invariant(engine)
    assert 20200502 not in set(full.issue) and len(full) == 7
    assert sorted(latest.issue) == [20200501, 20200501, 20200501, 20200503, 20200503]


@pytest.mark.parametrize("text, message", [
    ("geo_id,issue,time_value,geo_type,signal\nca,20200501,20200401,state,cases\n", "lack column\\(s\\) source"),
    ("geo_id,issue,time_value,geo_type,signal,source\nca,2020-05-01,20200401,state,cases,demo\n",
     "issue must be integers"),
    ("", "cannot read deletion keys"),
])
def test_bad_key_files_name_the_file(engine, tmp_path, text, message):
    path = tmp_path / "keys.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        delete_batch(engine, path)
    assert str(path) in str(info.value)


def test_deleted_history_is_gone_from_as_of_too(engine):
    from delphi_signals.epidata import Epidata
    from delphi_signals.cube import to_frame

    data = upstream_scenario()
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, data)
    delete_batch(engine, data[(data["geo_value"] == "d_latest") & (data["issue"] == 20200501)])
    db = Epidata(engine)
    with pytest.raises(InputError, match="no stored rows"):
        db.fetch("demo", "cases", "msa", geo_values=["d_latest"], as_of=20200501)
    frame = to_frame(db.fetch("demo", "cases", "msa", as_of=20200501))
    assert sorted(frame.geo_value.unique()) == ["d_justone", "d_nonlatest"]
    assert np.all(frame.lag == 1)
