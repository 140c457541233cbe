"""Dynamic checks: all rows of each (geo type, signal) together, compared with what was already published.

As upstream's ``DynamicValidator`` (spec/indicators.md §6), with the reference taken from a
:class:`~delphi_signals.validate.reference.ReferenceData` instead of the remote API and these deliberate
differences: "active" combinations are those published in the reference period before the window;
``check_val_missing`` ignores a missing value whose code gives a reason (1-4); ``check_max_date_vs_reference``
compares the export's newest date with the newest date ever published; the average check compares each
checking date's rows (upstream compares the whole export for every checking date). Weekly signals step by
epiweeks; their lags are measured from the week's Saturday.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd

from ..errors import InputError
from ..nancodes import Nans
from .params import ValidationParams
from .reference import REFERENCE_COLUMNS, Combo, ReferenceData
from .report import ERROR, WARNING, ValidationFailure, ValidationReport

SPIKE_SIGNALS = frozenset({
    "confirmed_7dav_cumulative_num", "confirmed_7dav_incidence_num", "confirmed_cumulative_num",
    "confirmed_incidence_num", "deaths_7dav_cumulative_num", "deaths_cumulative_num",
})
EXPLAINED_MISSING = (Nans.NOT_APPLICABLE, Nans.REGION_EXCEPTION, Nans.CENSORED, Nans.DELETED)
OUTLIER_LOOKBEHIND_DAYS = 14
SPIKE_WINDOW, SIZE_CUT, SIG_CUT, SIG_CONSEC = 14, 5.0, 3.0, 2.25
AVG_THRESHOLDS = {"mean_z": 4.0, "val_mean_z": 3.5, "mean_abs_z": 4.25}
RAPID_CHANGE = 0.35


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def _examples(items, limit: int = 5) -> str:
    items = list(items)
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def checking_dates(params: ValidationParams, time_type: str) -> list[dt.date]:
    """The window's days, or the starts of the epiweeks that overlap it."""
    first, step = params.start_date, 1
    if time_type == "week":
        first, step = first - _days(first.isoweekday() % 7), 7
    out = []
    while first <= params.end_date:
        out.append(first)
        first += _days(step)
    return out


def fetch_start(params: ValidationParams) -> dt.date:
    """The first day of reference any check needs (the smoothed reference window, the outlier lookbehind)."""
    return params.start_date - _days(max(OUTLIER_LOOKBEHIND_DAYS, params.lookbehind_days + 7) + 7)


class _ComboChecks:
    def __init__(self, combo: Combo, report: ValidationReport):
        self.combo, self.report = combo, report

    def fail(self, check: str, message: str, date: dt.date | None = None, severity: str = ERROR,
             geo_values=()) -> None:
        geo_type, signal, time_type = self.combo
        self.report.add(ValidationFailure(check, severity, message, geo_type=geo_type, signal=signal, date=date,
                                          time_type=time_type, geo_values=tuple(geo_values)))

    def ran(self, n: int = 1) -> None:
        self.report.checks_run += n


def _lag_checks(c: _ComboChecks, test: pd.DataFrame, params: ValidationParams) -> None:
    _, signal, time_type = c.combo
    newest = test["time_value"].max().date()
    data_end = newest + _days(6 if time_type == "week" else 0)
    c.ran(2)
    oldest_allowed = params.issue_date - _days(params.max_lag(signal))
    if data_end < oldest_allowed:
        c.fail("check_min_max_date", f"date of most recent generated file seems too long ago: data end "
                                     f"{data_end}, expected on or after {oldest_allowed}")
    newest_allowed = params.issue_date - _days(params.min_lag(signal))
    if data_end > newest_allowed:
        c.fail("check_max_max_date", f"date of most recent generated file seems too recent: data end {data_end}, "
                                     f"expected on or before {newest_allowed}")


def _check_val_missing(c: _ComboChecks, test: pd.DataFrame, params: ValidationParams) -> None:
    """A missing value with no stated reason, after each geo's first 6 rows; one error per date."""
    c.ran()
    ordered = test.sort_values(["geo_id", "time_value"], kind="stable")
    after_warmup = ordered.groupby("geo_id").cumcount().to_numpy() >= 6
    unexplained = ~ordered["missing_val"].isin([int(code) for code in EXPLAINED_MISSING]).to_numpy()
    bad = ordered[after_warmup & ordered["val"].isna().to_numpy() & unexplained
                  & (ordered["time_value"] >= _ts(params.start_date)).to_numpy()]
    for when, rows in bad.groupby("time_value"):
        c.fail("check_val_missing", f"val missing with no reason code for {len(rows)} geo_id(s): "
                                    f"{_examples(sorted(rows['geo_id']))}", when.date())


def _trailing(wide: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and sample sd of each column over the trailing ``window`` rows (NaN unless all are present)."""
    median, sd = np.full(wide.shape, np.nan), np.full(wide.shape, np.nan)
    if wide.shape[0] >= window:
        windows = np.lib.stride_tricks.sliding_window_view(wide, window, axis=0)
        median[window - 1:] = np.median(windows, axis=-1)
        sd[window - 1:] = np.std(windows, axis=-1, ddof=1)
    return median, sd


def _shift_up(values: np.ndarray, rows: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    if rows < values.shape[0]:
        out[: values.shape[0] - rows] = values[rows:]
    return out


def _spike_stats(frame: pd.DataFrame) -> pd.DataFrame:
    """Upstream's trailing and centred 14-row t statistics per geo (rows ordered by time within a geo)."""
    frame = frame.sort_values(["geo_id", "time_value"], kind="stable").reset_index(drop=True)
    rank = frame.groupby("geo_id").cumcount().to_numpy()
    geo_codes, geo_ids = pd.factorize(frame["geo_id"])
    wide = np.full((rank.max() + 1 if len(rank) else 0, len(geo_ids)), np.nan)
    wide[rank, geo_codes] = frame["val"].to_numpy(dtype=float)
    median, sd = _trailing(wide, SPIKE_WINDOW)
    # pandas' centred even window is the trailing one 6 rows later; upstream shifts it one more row (as R)
    centred_median, centred_sd = _shift_up(median, SPIKE_WINDOW // 2), _shift_up(sd, SPIKE_WINDOW // 2)
    with np.errstate(invalid="ignore"):
        ftstat = np.abs(wide - np.nan_to_num(median)) / (sd + 1e-5)
        ststat = np.abs(wide - np.nan_to_num(centred_median)) / (centred_sd + 1e-5)
    frame["ftstat"] = ftstat[rank, geo_codes]
    frame["ststat"] = ststat[rank, geo_codes]
    return frame


def _check_spikes(c: _ComboChecks, test: pd.DataFrame, reference: pd.DataFrame, params: ValidationParams) -> None:
    """``check_positive_negative_spikes`` (warning): values far from their geo's rolling 14-row median."""
    c.ran()
    step = _days(7 if c.combo[2] == "week" else 1)
    source = test[(test["time_value"] >= _ts(params.start_date)) & (test["time_value"] <= _ts(params.end_date))]
    if source.empty:
        return
    source_start, source_end = source["time_value"].min(), source["time_value"].max()
    lookbehind = reference[(reference["time_value"] >= source_start - _days(OUTLIER_LOOKBEHIND_DAYS))
                           & (reference["time_value"] <= source_start - step)]
    frame = pd.concat([lookbehind, source[lookbehind.columns]]) if len(lookbehind) else source[reference.columns]
    frame = frame.drop_duplicates(["geo_id", "time_value"], keep="last")
    stats = _spike_stats(frame)
    scan_start = min(lookbehind["time_value"].max(), source_start - step) if len(lookbehind) else source_start - step
    scan = stats[(stats["time_value"] >= scan_start) & (stats["time_value"] <= source_end)].reset_index(drop=True)
    val, ft, st = scan["val"].to_numpy(), scan["ftstat"].to_numpy(), scan["ststat"].to_numpy()
    with np.errstate(invalid="ignore"):
        has_st, has_ft = ~np.isnan(st), ~np.isnan(ft)
        outlier = ((np.abs(val) > SIZE_CUT) & has_st & (st > SIG_CUT)) \
            | ((np.abs(val) > SIZE_CUT) & ~has_st & has_ft & (ft > SIG_CUT)) \
            | ((val < -SIZE_CUT) & has_st & has_ft)
        nearby = (has_st & (st > SIG_CONSEC)) | (~has_st & (ft > SIG_CONSEC))
    geo = scan["geo_id"].to_numpy()
    flagged = outlier.copy()
    for shift in (1, -1):  # the row just after / before an outlier in the same geo
        neighbour = np.zeros_like(outlier)
        if shift == 1:
            neighbour[1:] = outlier[:-1] & (geo[1:] == geo[:-1])
        else:
            neighbour[:-1] = outlier[1:] & (geo[:-1] == geo[1:])
        flagged |= neighbour & nearby
    found = scan[flagged & (scan["time_value"] >= source_start).to_numpy()]
    for when, rows in found.groupby("time_value"):
        c.fail("check_positive_negative_spikes", f"flagged outliers based on the previous 14 rows of data for "
                                                 f"{len(rows)} geo_id(s): {_examples(sorted(rows['geo_id']))}",
               when.date(), WARNING, geo_values=sorted(rows["geo_id"]))


class _Grid:
    """Rows of one combination on a dense (time step × geo) grid: value, stderr, sample size and row presence."""

    def __init__(self, frame: pd.DataFrame, times: pd.DatetimeIndex, geo_ids: pd.Index):
        self.times = times
        shape = (len(times), len(geo_ids))
        self.present = np.zeros(shape, dtype=bool)
        self.values = {name: np.full(shape, np.nan) for name in ("val", "se", "sample_size")}
        t, g = times.get_indexer(frame["time_value"]), geo_ids.get_indexer(frame["geo_id"])
        keep = (t >= 0) & (g >= 0)
        t, g = t[keep], g[keep]
        self.present[t, g] = True
        for name, grid in self.values.items():
            grid[t, g] = frame[name].to_numpy(dtype=float)[keep]

    def rows(self, a: int, b: int) -> np.ndarray:
        """Rows per time step in ``[a, b)``."""
        return self.present[a:b].sum(axis=1)


def _combined_reference(reference: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """What was published up to its newest date, then this export's own rows (upstream's padding)."""
    if reference.empty:
        return test[REFERENCE_COLUMNS]
    newest = reference["time_value"].max()
    return pd.concat([reference, test.loc[test["time_value"] > newest, REFERENCE_COLUMNS]])


def _check_dates(c: _ComboChecks, test: pd.DataFrame, reference: pd.DataFrame, params: ValidationParams,
                 first_publication: bool = False) -> None:
    """Per checking date: ``check_missing_geo_sig_date_combo``, ``empty_reference_data``,
    ``check_rapid_change_num_rows`` and (not for cumulative signals) ``check_test_vs_reference_avg_changed``."""
    _, signal, time_type = c.combo
    step = 7 if time_type == "week" else 1
    span = params.lookbehind_days + (7 if signal in params.smoothed_signals else 0)
    dates = checking_dates(params, time_type)
    n_steps = span // step
    times = pd.date_range(_ts(dates[0] - _days(n_steps * step)), _ts(dates[-1]), freq=f"{step}D")
    geo_ids = pd.Index(pd.unique(pd.concat([test["geo_id"], reference["geo_id"]])))
    recent_grid = _Grid(test, times, geo_ids)
    ref_grid = _Grid(_combined_reference(reference, test), times, geo_ids)
    published = set(pd.DatetimeIndex(reference["time_value"]).unique()) if len(reference) else set()
    for checking in dates:
        row = times.get_loc(_ts(checking))
        c.ran()
        if not recent_grid.present[row].any():
            newest_expected = params.issue_date - _days(params.max_lag(signal))
            if checking + _days(step - 1) < newest_expected:
                c.fail("check_missing_geo_sig_date_combo", "test data for this checking date, geo type and signal "
                                                           "is missing; source data may be missing for one or more "
                                                           "dates", checking)
            continue
        first = row - n_steps
        per_step = ref_grid.rows(first, row)
        c.ran()
        if not per_step.any():
            if first_publication:  # nothing of this combination was ever published: blocks nothing
                c.fail("empty_reference_data", "nothing published yet and no earlier export dates in the window; "
                                               "comparative checks could not be performed", checking, WARNING)
            else:
                c.fail("empty_reference_data", "reference data is empty; comparative checks could not be performed",
                       checking)
            continue
        if not published & set(times[first:row]):
            c.fail("empty_reference_data", "nothing was published in the reference window: the reference is this "
                                           "export's own earlier dates; please verify that this is expected",
                   checking, WARNING)
        _check_rapid_change(c, int(recent_grid.present[row].sum()), per_step[per_step > 0].mean(), checking)
        if "cumulative" not in signal:
            _check_avg(c, recent_grid, ref_grid, row, first, n_steps, checking)


def _check_rapid_change(c: _ComboChecks, test_rows: int, ref_rows: float, checking: dt.date) -> None:
    c.ran()
    change = (test_rows - ref_rows) / min(test_rows, ref_rows)
    if abs(change) > RAPID_CHANGE:
        c.fail("check_rapid_change_num_rows", f"Number of rows per day seems to have changed rapidly: {test_rows} "
                                              f"rows vs {ref_rows:.1f} per day in the reference", checking)


def _check_avg(c: _ComboChecks, recent: _Grid, ref: _Grid, row: int, first: int, n_steps: int,
               checking: dt.date) -> None:
    """``check_test_vs_reference_avg_changed`` (warning): mean z-scores of the checking date vs the reference.

    Per variable and geo: z = (test - reference mean) / reference sd (an sd of 0 replaced by the median
    positive sd), over geos whose reference is complete; warn when a mean z or mean |z| is too large.
    """
    c.ran()
    high = []
    for variable in ("val", "se", "sample_size"):
        window, test = ref.values[variable][first:row], recent.values[variable][row]
        count = (~np.isnan(window)).sum(axis=0)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(window, axis=0)
            sd = np.round(np.nanstd(window, axis=0, ddof=1), 8)
            positive = sd[sd > 0]
            sd[sd == 0] = np.median(positive) if len(positive) else np.nan
            z = (test - mean) / sd
        usable = (count == n_steps) & np.isfinite(z)
        if not usable.any():
            continue
        mean_z, mean_abs_z = z[usable].mean(), np.abs(z[usable]).mean()
        limit = AVG_THRESHOLDS["val_mean_z"] if variable == "val" else AVG_THRESHOLDS["mean_z"]
        if abs(mean_z) > limit or mean_abs_z > AVG_THRESHOLDS["mean_abs_z"]:
            high.append(f"{variable}: mean z {mean_z:.2f}, mean |z| {mean_abs_z:.2f} over {usable.sum()} geo_id(s)")
    if high:
        c.fail("check_test_vs_reference_avg_changed", "average differences between recent and reference data "
                                                      f"seem large ({'; '.join(high)})", checking, WARNING)


def check_dynamic(test: pd.DataFrame, reference: ReferenceData, params: ValidationParams,
                  report: ValidationReport) -> None:
    """Every dynamic check of the rows in the window (``test``: :func:`~.files.rows_frame`) against ``reference``."""
    first = fetch_start(params)
    expected = reference.combos(params.start_date - _days(OUTLIER_LOOKBEHIND_DAYS), params.end_date)
    by_combo = dict(iter(test.groupby(["geo_type", "signal", "time_type"]))) if len(test) else {}
    for combo in sorted(set(by_combo) | expected):
        c = _ComboChecks(combo, report)
        c.ran()
        if combo not in by_combo:
            c.fail("check_missing_geo_sig_combo", f"{combo[0]} {combo[1]} was published in the 14 days before the "
                                                  "window but has no file in this export")
            continue
        rows = by_combo[combo]
        _lag_checks(c, rows, params)
        _check_val_missing(c, rows, params)
        c.ran()
        try:
            ref = reference.rows(combo, first, params.end_date)
        except InputError as exc:
            c.fail("api_data_fetch_error", f"the reference could not be read: {exc}")
            continue
        published = reference.latest(combo)
        newest = rows["time_value"].max().date()
        c.ran()
        if published is not None and newest < published:
            c.fail("check_max_date_vs_reference", f"the export ends on {newest} but {published} was already "
                                                  "published", published)
        if combo[1] in SPIKE_SIGNALS:
            _check_spikes(c, rows, ref, params)
        _check_dates(c, rows, ref, params, first_publication=published is None)
