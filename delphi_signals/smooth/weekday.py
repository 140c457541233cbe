"""Day-of-week adjustment (spec/indicators.md §3): a penalised Poisson fit per series of totals.

Model: ``log E[num_t] = alpha_{weekday(t)} + phi_t + log den_t`` with ``sum(alpha) = 0`` (Sunday is minus the sum of
Monday..Saturday) and an L1 penalty on the third differences of ``phi``. Minimised, as upstream does with cvxpy::

    (1/T) sum_t [den_t exp(eta_t) - num_t eta_t]  +  lam**2 / (T - 2) * ||diff(phi, 3)||_1

(upstream's ``lam = 10`` enters twice, so the penalty weight is 100). The solver is our own
(:mod:`.weekday_kernels`): a primal-dual interior-point method whose Newton steps use the problem's structure
(a banded matrix from the third differences bordered by the six weekday columns: one banded Cholesky and a
6 x 6 Schur complement per step, O(T)), compiled with numba, many series per call. Why not cvxpy + Clarabel:
it would add cvxpy, its solvers and their pins (upstream already had to pin ``scs`` and lost ECOS) for one
small convex problem, and it is tens of times slower (``benchmarks/bench_weekday.py`` prints the ratio).

Every fit carries a convergence report: Newton ``steps``, the final ``gradient_norm`` (max-norm of the dual
residual ``grad F + D' nu``, the optimality measure of this non-smooth problem), the duality ``gap`` (a bound
on the distance of the objective from the optimum) and a ``status``. A fit that does not converge is never
returned as if it had: :func:`solve_weekday` reports it, :func:`fit_weekday_arrays` returns
``converged=False``, and :func:`fit_weekday` either keeps NaN effects for it with its ``reason`` (the
default: :func:`adjust_weekday` then makes that region's adjusted values missing, code ``OTHER``, and warns),
raises :class:`WeekdayFitError`, or, with ``on_failure="unadjusted"`` (upstream's behaviour, opted into),
sets its effects to 0 so its values pass through unadjusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
import xarray as xr

from ..cube import kernel_ready
from ..errors import DelphiSignalsError, InputError
from ..log import get_logger
from ..nancodes import MISSING_NAMES, Nans
from . import weekday_kernels as kernels

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PENALTY = 10.0
"""Upstream's hard-coded lambda (it multiplies the penalty twice)."""
TOO_FEW_DAYS = 4
"""Status of a series with fewer than 7 usable days: not fitted (its effects are NaN, its report empty)."""
STATUS = {kernels.CONVERGED: "converged", kernels.MAX_STEPS: "step budget exhausted",
          kernels.STALLED: "no step reduced the residual (degenerate or unbounded problem)",
          kernels.NEAR_OPTIMUM: "converged to within 100 times the tolerances (rounding stopped progress)",
          TOO_FEW_DAYS: "fewer than 7 days with counts and a positive denominator (not fitted)"}
"""What each ``status`` code of a fit means; 0 and 3 count as converged."""
FEASIBILITY_TOL = 1e-9
"""Dual residual limit, relative to ``c + max(num) / T`` (the scale of the gradient)."""

log = get_logger(__name__)


ON_FAILURE = ("missing", "unadjusted", "raise")
"""What :func:`fit_weekday` does with a fit that did not converge or was not fitted."""


class WeekdayFitError(DelphiSignalsError):
    """A weekday fit did not converge (raised by :func:`fit_weekday` with ``on_failure="raise"``)."""


class WeekdayAdjustmentWarning(UserWarning):
    """:func:`adjust_weekday` left regions without fitted effects missing (their fits failed)."""


@dataclass(frozen=True)
class WeekdayFits:
    """Solutions and convergence reports of one or many weekday fits (leading axes: one per series).

    Attributes
    ----------
    beta : numpy.ndarray
        ``(..., 6 + T)``: ``alpha_Mon..Sat`` then ``phi_1..T``.
    status : numpy.ndarray of int
        0 converged; 1 step budget exhausted; 2 stalled; 3 converged to within 100 times the tolerances
        when rounding stopped progress (see :data:`STATUS`).
    steps : numpy.ndarray of int
        Newton steps taken.
    gradient_norm : numpy.ndarray of float
        Final max-norm of the dual residual (0 at the optimum).
    gap : numpy.ndarray of float
        Final duality gap (objective minus optimum is at most about this).
    objective : numpy.ndarray of float
        The objective at ``beta``.
    """

    beta: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    gradient_norm: np.ndarray
    gap: np.ndarray
    objective: np.ndarray

    @property
    def converged(self) -> np.ndarray:
        """True where the fit converged."""
        return (self.status == kernels.CONVERGED) | (self.status == kernels.NEAR_OPTIMUM)


def solve_weekday(num, den, dayofweek, *, penalty=PENALTY, tol=1e-11, max_steps=200, parallel=True) -> WeekdayFits:
    """Fit the weekday model on each series (last axis: time) of ``num`` over ``den``.

    Parameters
    ----------
    num, den : array_like of float
        Counts and denominators, 1-D ``(T,)`` or n-D ``(..., T)`` of the same shape. Days where ``num`` or
        ``den`` is NaN or ``den <= 0`` leave the likelihood (their ``phi`` is set by the penalty alone), but
        count in ``T``.
    dayofweek : array_like of int
        ``(T,)``: Monday = 0 .. Sunday = 6, shared by every series.
    penalty : float
        Upstream's lambda; the penalty weight is ``penalty**2 / (T - 2)``.
    tol : float
        Converged when the duality gap is at most ``tol * max(1, |objective|)`` and the dual residual at most
        :data:`FEASIBILITY_TOL` times its scale.
    max_steps : int
        Newton steps allowed per series.
    parallel : bool
        Fit the series on numba's threads (``False``: on the calling thread only).

    A series with fewer than 7 usable days is not fitted: its status is :data:`TOO_FEW_DAYS` and its
    ``beta`` NaN, and the other series are fitted as usual.

    Raises
    ------
    InputError
        A time axis shorter than 7 days, shapes that disagree, or a day of week outside 0..6.

    Examples
    --------
    >>> days = np.array([2, 3, 4, 5, 6, 0, 1, 2, 3, 4])   # Wed 2020-01-01 onwards
    >>> fits = solve_weekday([np.arange(1.0, 11), np.arange(2.0, 12)], np.ones((2, 10)), days)
    >>> fits.beta.shape, fits.converged.tolist(), bool((fits.gap < 1e-10).all())
    ((2, 16), [True, True], True)
    """
    num_rows = np.asarray(num)
    den_rows = np.asarray(den)
    if num_rows.shape != den_rows.shape or num_rows.ndim == 0:
        raise InputError(f"num and den must be arrays of one shape with time last, got {num_rows.shape} and "
                         f"{den_rows.shape}")
    shape = num_rows.shape
    t = shape[-1]
    if t < 7:
        raise InputError(f"weekday fit needs at least 7 days, got {t}")
    dow = kernel_ready(dayofweek, np.int64)
    if dow.shape != (t,) or dow.min() < 0 or dow.max() > 6:
        raise InputError(f"dayofweek must hold {t} values in 0..6 (Monday = 0)")
    num_rows = kernel_ready(num_rows.reshape(-1, t), np.float64)
    den_rows = kernel_ready(den_rows.reshape(-1, t), np.float64)
    use = ~np.isnan(num_rows) & ~np.isnan(den_rows) & (den_rows > 0)
    fit = use.sum(axis=1) >= 7
    num_rows = np.where(use, num_rows, 0.0)[fit]
    den_rows = np.where(use, den_rows, 0.0)[fit]
    beta = np.full((len(fit), 6 + t), np.nan)
    info = np.full((len(fit), 5), np.nan)
    info[:, :2] = (TOO_FEW_DAYS, 0)
    if fit.any():
        fitted_beta, fitted_info = np.empty((num_rows.shape[0], 6 + t)), np.empty((num_rows.shape[0], 5))
        solver = kernels.solve_parallel if parallel and num_rows.shape[0] > 1 else kernels.solve_serial
        solver(num_rows, den_rows, dow, float(penalty) ** 2 / (t - 2), float(tol), FEASIBILITY_TOL,
               int(max_steps), fitted_beta, fitted_info)
        beta[fit], info[fit] = fitted_beta, fitted_info
    lead = shape[:-1]
    return WeekdayFits(beta=beta.reshape(*lead, 6 + t), status=info[:, 0].astype(np.int64).reshape(lead),
                       steps=info[:, 1].astype(np.int64).reshape(lead), gradient_norm=info[:, 2].reshape(lead),
                       gap=info[:, 3].reshape(lead), objective=info[:, 4].reshape(lead))


def fit_weekday_arrays(num, den, dayofweek, *, penalty=PENALTY, tol=1e-11, max_iter=200, parallel=True):
    """Fit ``beta = (alpha_Mon..Sat, phi_1..T)``; returns ``(beta, converged)`` (see :func:`solve_weekday`).

    For 1-D series ``converged`` is a bool; for ``(..., T)`` arrays one bool per series.

    Examples
    --------
    >>> days = np.array([2, 3, 4, 5, 6, 0, 1, 2, 3, 4])   # Wed 2020-01-01 onwards
    >>> beta, ok = fit_weekday_arrays(np.arange(1.0, 11), np.arange(11.0, 21), days)
    >>> ok, np.round(beta[:6], 4).tolist()
    (True, [-0.0599, -0.0727, -0.0562, 0.0343, 0.1253, 0.0456])
    """
    fits = solve_weekday(num, den, dayofweek, penalty=penalty, tol=tol, max_steps=max_iter, parallel=parallel)
    converged = fits.converged
    return fits.beta, bool(converged) if converged.ndim == 0 else converged


def _as_data_array(data, name):
    if isinstance(data, xr.Dataset):
        data = data["value"]
    if not isinstance(data, xr.DataArray) or "time" not in data.dims:
        raise InputError(f"{name} must be a cube or a DataArray with a 'time' dimension")
    return data


def _series(data, name, by):
    """Totals over every dim but time (``by=None``) or but ``by`` and time, with time last."""
    data = _as_data_array(data, name)
    keep = ("time",) if by is None else (by, "time")
    if by is not None and by not in data.dims:
        raise InputError(f"{name} has no dimension {by!r} to fit by (dims: {', '.join(map(str, data.dims))})")
    other = [dim for dim in data.dims if dim not in keep]
    return (data.sum(other, min_count=1) if other else data).transpose(*keep)


def fit_weekday(num, den, *, penalty=PENALTY, by=None, on_failure="missing", parallel=True) -> xr.Dataset:
    """Fit day-of-week effects of ``num`` over ``den``: on totals over every dim but time, or one fit per ``by``.

    Parameters
    ----------
    num, den : xarray.Dataset or xarray.DataArray
        Numerator and denominator counts (cubes use their ``value``), on the same daily time axis.
    penalty : float
        Upstream's lambda (10).
    by : str, optional
        ``None``: one fit on the totals summed over every dim but time (upstream's national fit).
        ``"geo"`` (or another dim): one fit per entry of that dim, all in one solver call.
    on_failure : {"missing", "unadjusted", "raise"}
        A fit that does not converge, or a series with fewer than 7 usable days (not fitted, status
        :data:`TOO_FEW_DAYS`), is flagged ``converged=False`` with its ``reason`` and logged, never passed
        off as a fit. ``"missing"`` keeps its effects NaN, so :func:`adjust_weekday` makes its adjusted
        values missing (code ``OTHER``); ``"unadjusted"`` (upstream's behaviour, opted into) sets its effects
        to 0, so its values are published unadjusted; ``"raise"`` raises :class:`WeekdayFitError`.
    parallel : bool
        With ``by``, fit the series on numba's threads (``False``: on the calling thread only).

    Returns
    -------
    xarray.Dataset
        ``weekday_effect`` (``day_of_week`` Mon..Sun, log scale, summing to 0; NaN for a failed fit unless
        ``on_failure="unadjusted"``) and ``trend`` (``phi`` over time), with ``by`` as leading dim when
        given; the convergence report per fit: ``converged``, ``status`` (codes in :data:`STATUS`),
        ``reason`` (its text, ``""`` where converged), ``steps``, ``gradient_norm``, ``gap``; attr
        ``converged`` (1 if every fit converged).

    Examples
    --------
    >>> import pandas as pd
    >>> time = pd.date_range("2020-01-01", periods=10)
    >>> num = xr.DataArray(np.arange(1.0, 11), coords={"time": time})
    >>> params = fit_weekday(num, num + 10)
    >>> np.round(params.weekday_effect.values, 4).tolist(), bool(params.converged)
    ([-0.0599, -0.0727, -0.0562, 0.0343, 0.1253, 0.0456, -0.0164], True)
    >>> many = xr.DataArray([np.arange(1.0, 11), np.arange(5.0, 15)], coords={"geo": ["ca", "pa"], "time": time})
    >>> fit_weekday(many, many + 10, by="geo").weekday_effect.dims
    ('geo', 'day_of_week')
    """
    if on_failure not in ON_FAILURE:
        raise InputError(f"on_failure must be one of {', '.join(map(repr, ON_FAILURE))}, got {on_failure!r}")
    num_t, den_t = _series(num, "num", by), _series(den, "den", by)
    if not num_t.indexes["time"].equals(den_t.indexes["time"]):
        raise InputError("num and den must share one time axis")
    if by is not None and not num_t.indexes[by].equals(den_t.indexes[by]):
        den_t = den_t.reindex({by: num_t[by].values})
        absent = den_t.isnull().all("time").values
        if absent.any():
            raise InputError(f"den lacks {by} entries of num: {num_t[by].values[absent][:5].tolist()}")
    dayofweek = num_t.indexes["time"].day_of_week.to_numpy()
    fits = solve_weekday(num_t.values, den_t.values, dayofweek, penalty=penalty, parallel=parallel)
    lead = () if by is None else (by,)
    alpha = fits.beta[..., :6].copy()
    failed = ~fits.converged
    if failed.any():
        where = [] if by is None else num_t[by].values[failed].tolist()
        reasons = sorted({STATUS[int(code)] for code in np.atleast_1d(fits.status[failed])})
        if on_failure == "raise":
            raise WeekdayFitError(f"weekday fit did not converge{' for ' + str(where[:5]) if where else ''}: "
                                  f"{'; '.join(reasons)} (steps {np.atleast_1d(fits.steps[failed])[:5].tolist()}, "
                                  f"gradient norm {np.atleast_1d(fits.gradient_norm[failed])[:5].tolist()})")
        log.error("weekday fit failed", days=len(dayofweek), fits=int(failed.sum()), regions=where[:20],
                  reasons=reasons, effects="zero (unadjusted)" if on_failure == "unadjusted" else "missing")
        alpha[failed] = 0.0 if on_failure == "unadjusted" else np.nan
    reason = np.array([STATUS[int(code)] if not ok else "" for code, ok in
                       zip(np.ravel(fits.status), np.ravel(fits.converged))], dtype=str).reshape(fits.status.shape)
    effect = np.concatenate([alpha, -alpha.sum(axis=-1, keepdims=True)], axis=-1)
    coords = {"day_of_week": list(DAYS), "time": num_t["time"]}
    if by is not None:
        coords[by] = num_t[by]
    return xr.Dataset(
        {"weekday_effect": (lead + ("day_of_week",), effect), "trend": (lead + ("time",), fits.beta[..., 6:]),
         "converged": (lead, fits.converged), "status": (lead, fits.status),
         "reason": (lead, reason.astype(str)), "steps": (lead, fits.steps),
         "gradient_norm": (lead, fits.gradient_norm), "gap": (lead, fits.gap)},
        coords=coords,
        attrs={"converged": int(fits.converged.all()), "penalty": penalty},
    )


def _warn_unfitted(cube, others, unfitted) -> None:
    """Name the regions whose adjusted values are left missing for want of effects (a warning and a log event)."""
    if len(others) == 1:
        regions = [str(g) for g in np.asarray(cube[others[0]].values)[unfitted]]  # values are in cube order
        named = ", ".join(regions[:20]) + (f" (+{len(regions) - 20} more)" if len(regions) > 20 else "")
    else:
        regions, named = [], "every region (the one fit failed)" if not others else f"{int(unfitted.sum())} fits"
    warnings.warn(f"weekday effects missing (the fit failed) for {named}: their adjusted values are left missing "
                  f"(code OTHER)", WeekdayAdjustmentWarning, stacklevel=3)
    log.warning("weekday adjustment left regions missing", source=cube.attrs.get("source"),
                signal=cube.attrs.get("signal"), regions=regions[:20], count=int(unfitted.sum()))


def adjust_weekday(cube: xr.Dataset, params: xr.Dataset) -> xr.Dataset:
    """Divide each value (and stderr) by ``exp(weekday_effect)`` of its day; sample sizes are unchanged.

    ``params`` holds one ``weekday_effect`` (Mon..Sun) or one per region (a ``geo`` dim, as
    ``fit_weekday(..., by="geo")`` gives), which must then cover every geo of the cube. Where the effects
    are NaN (a fit that failed, :func:`fit_weekday`'s default), the adjusted values and stderrs are missing
    with code ``OTHER`` and a :class:`WeekdayAdjustmentWarning` names the regions: an unadjusted value is
    never published under the adjusted signal's name unless the caller asked for it
    (``on_failure="unadjusted"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> cube = new_cube(["ca"], pd.date_range("2020-01-01", periods=10), [np.arange(1.0, 11)],
    ...                 source="demo", signal="cases", geo_type="state")
    >>> params = xr.Dataset({"weekday_effect": ("day_of_week", [1.0, -1, 1, -1, 1, -1, 1])})
    >>> np.round(adjust_weekday(cube, params).value.values[0], 4).tolist()
    [0.3679, 5.4366, 1.1036, 10.8731, 5.0, 2.2073, 19.028, 2.943, 24.4645, 3.6788]
    """
    effect = params["weekday_effect"]
    if "day_of_week" not in effect.dims or effect.sizes["day_of_week"] != 7:
        raise InputError(f"weekday_effect must hold 7 values (Mon..Sun) along day_of_week, got dims "
                         f"{dict(effect.sizes)}")
    effect = effect.transpose(..., "day_of_week").astype(float)
    values = np.array(effect.values, dtype=float)
    # Sunday is minus the sum of Monday..Saturday by construction, whatever the 7th value says
    values[..., 6] = -values[..., :6].sum(axis=-1)
    others = [d for d in effect.dims if d != "day_of_week"]
    if others:
        missing = [d for d in others if d not in cube.dims]
        if missing:
            raise InputError(f"weekday_effect has dims {missing} that the cube lacks")
        for dim in others:
            absent = ~np.isin(cube[dim].values, effect[dim].values)
            if absent.any():
                raise InputError(f"no weekday_effect for {dim} {cube[dim].values[absent][:5].tolist()}")
        same = all(effect.indexes[d].equals(cube.indexes[d]) for d in others if d in effect.indexes)
        if not same:
            effect = xr.DataArray(values, coords=effect.coords, dims=effect.dims)
            values = effect.sel({d: cube[d].values for d in others}).values
    dayofweek = cube.indexes["time"].day_of_week.to_numpy()
    divisor = np.exp(values[..., dayofweek])  # dims (*others, "time")
    divisor_dims = (*others, "time")
    unfitted = np.isnan(values).any(axis=-1)  # (*others): regions (or the one fit) without effects
    if unfitted.any():
        _warn_unfitted(cube, others, unfitted)
    out = cube.copy(deep=False)
    for name in ("value", "stderr"):
        if name in cube:
            var = cube[name].variable
            # numpy, not xarray arithmetic: the divisor is already in the cube's order (no alignment to pay for)
            order = [divisor_dims.index(d) for d in var.dims if d in divisor_dims]
            shape = [var.sizes[d] if d in divisor_dims else 1 for d in var.dims]
            original = np.asarray(var.values, dtype=float)
            scaled = original / np.transpose(divisor, order).reshape(shape)
            out[name] = var.copy(deep=False, data=scaled.astype(var.dtype, copy=False))
            code_name = MISSING_NAMES[name]
            if unfitted.any() and code_name in cube:
                lost = np.isnan(scaled) & ~np.isnan(original)  # present before, missing for want of effects
                codes = cube[code_name].variable.transpose(*var.dims)
                out[code_name] = codes.copy(deep=False, data=np.where(
                    lost, np.int8(Nans.OTHER), np.asarray(codes.values)).astype(np.int8))
    note = "time: point (comment: divided by the fitted day-of-week effect)"
    out.attrs["cell_methods"] = f"{cube.attrs['cell_methods']} {note}" if cube.attrs.get("cell_methods") else note
    return out
