import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from delphi_signals.nancodes import UNKNOWN, Nans, repair_codes


def reference(q, c):
    """The importer's five rules, one row at a time."""
    out, bad = [], 0
    for value, code in zip(q, c):
        present = not np.isnan(value)
        known = code is not None and not (isinstance(code, float) and np.isnan(code)) and code != UNKNOWN
        if not known:
            out.append(0 if present else 5)
        elif code != 0 and present:
            out.append(0)
            bad += 1
        elif code == 0 and not present:
            out.append(5)
            bad += 1
        else:
            out.append(int(code))
    return out, bad


@given(st.lists(st.tuples(st.sampled_from([1.5, np.nan, -2.0]), st.sampled_from([np.nan, 0, 1, 2, 3, 4, 5])),
                min_size=1, max_size=40))
def test_repair_matches_the_importer_rules_row_by_row(rows):
    q = np.array([r[0] for r in rows])
    c = np.array([r[1] for r in rows], dtype=float)
    codes, bad = repair_codes(q, c)
    assert (codes.tolist(), bad) == reference(q.tolist(), c.tolist())
    assert codes.dtype == np.int8


@given(hnp.arrays(np.float64, st.integers(0, 30), elements=st.sampled_from([0.0, 1.0, np.nan])))
def test_without_codes_nan_means_other(q):
    codes, bad = repair_codes(q)
    assert bad == 0
    assert (codes == np.where(np.isnan(q), Nans.OTHER, Nans.NOT_MISSING)).all()


def test_repair_is_idempotent_and_keeps_2d_shape():
    q = np.array([[1.0, np.nan], [np.nan, 2.0]])
    codes, _ = repair_codes(q, np.array([[3, 3], [0, 0]]))
    assert codes.tolist() == [[0, 3], [5, 0]]
    again, bad = repair_codes(q, codes)
    assert bad == 0 and (again == codes).all()
