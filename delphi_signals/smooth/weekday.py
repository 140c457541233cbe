"""Day-of-week adjustment (spec/indicators.md §3): a penalised Poisson fit on national totals.

Model: ``log E[num_t] = alpha_{weekday(t)} + phi_t + log den_t`` with ``sum(alpha) = 0`` (Sunday is minus the sum of
Monday..Saturday) and an L1 penalty on the third differences of ``phi``. Minimised, as upstream does with cvxpy::

    (1/T) sum_t [den_t exp(eta_t) - num_t eta_t]  +  lam**2 / (T - 2) * ||diff(phi, 3)||_1

(upstream's ``lam = 10`` enters twice, so the penalty weight is 100). The solver is our own: Newton steps on
the Poisson part with the L1 term majorised by a reweighted quadratic (IRLS / majorise-minimise), each step a
sparse banded solve with a backtracking line search on the true objective. Why not cvxpy + Clarabel: it
would add cvxpy, its solvers and their pins (upstream already had to pin ``scs`` and lost ECOS) for one
small convex problem; the reweighted Newton solve is ~60 lines, needs only scipy, and reproduces upstream's
fitted effects (tests).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import xarray as xr

from ..errors import InputError
from ..log import get_logger

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PENALTY = 10.0
"""Upstream's hard-coded lambda (it multiplies the penalty twice)."""

log = get_logger(__name__)


def _design(dayofweek: np.ndarray) -> sp.csc_matrix:
    """X = [weekday indicators (Sunday rows -1 in all six) | identity]: shape (T, 6 + T)."""
    t = len(dayofweek)
    weekday = np.zeros((t, 6))
    not_sunday = dayofweek != 6
    weekday[np.flatnonzero(not_sunday), dayofweek[not_sunday]] = 1.0
    weekday[~not_sunday, :] = -1.0
    return sp.hstack([sp.csc_matrix(weekday), sp.identity(t, format="csc")], format="csc")


def _third_differences(t: int) -> sp.csc_matrix:
    """D (T-3, 6 + T) with D @ beta = diff(phi, 3)."""
    d3 = sp.diags([-1.0, 3.0, -3.0, 1.0], [0, 1, 2, 3], shape=(t - 3, t))
    return sp.hstack([sp.csc_matrix((t - 3, 6)), d3], format="csc")


def fit_weekday_arrays(num, den, dayofweek, *, penalty=PENALTY, tol=1e-12, max_iter=500):
    """Fit ``beta = (alpha_Mon..Sat, phi_1..T)`` on 1-D national totals; returns ``(beta, converged)``.

    Days where ``num`` or ``den`` is NaN or ``den <= 0`` leave the likelihood (their ``phi`` is set by the
    penalty alone).

    Examples
    --------
    >>> days = np.array([2, 3, 4, 5, 6, 0, 1, 2, 3, 4])   # Wed 2020-01-01 onwards
    >>> beta, ok = fit_weekday_arrays(np.arange(1.0, 11), np.arange(11.0, 21), days)
    >>> ok, np.round(beta[:6], 4).tolist()
    (True, [-0.0599, -0.0727, -0.0562, 0.0343, 0.1253, 0.0456])
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    t = len(num)
    if t < 4:
        raise InputError(f"weekday fit needs at least 4 days of totals, got {t}")
    use = ~np.isnan(num) & ~np.isnan(den) & (den > 0)
    if use.sum() < 7:
        raise InputError(f"weekday fit needs at least 7 days with counts and a positive denominator, got {use.sum()}")
    x = _design(np.asarray(dayofweek, dtype=np.int64))
    d = _third_differences(t)
    y = np.where(use, num, 0.0)
    offset = np.where(use, den, 0.0)  # den_t multiplies exp(eta_t); 0 removes a day from the likelihood
    c = penalty**2 / (t - 2)

    def objective(beta, eps):
        eta = x @ beta
        z = d @ beta
        return np.sum(offset * np.exp(eta) - y * eta) / t + c * np.sum(np.sqrt(z * z + eps * eps))

    rate = np.where(use, np.maximum(y, 0.5) / np.where(use, den, 1.0), np.nan)
    phi0 = np.log(np.interp(np.arange(t), np.flatnonzero(use), rate[use]))
    beta = np.concatenate([np.zeros(6), phi0])
    converged = False
    # |z| is smoothed to sqrt(z^2 + eps^2); Newton converges fast on each smoothed problem and eps shrinks
    # until the fit stops moving (the smoothing changes the optimum by O(eps))
    for eps in 10.0 ** -np.arange(2, 13, 2):
        value = objective(beta, eps)
        for _ in range(max_iter):
            eta = x @ beta
            mu = offset * np.exp(eta)
            z = d @ beta
            root = np.sqrt(z * z + eps * eps)
            grad = x.T @ (mu - y) / t + c * (d.T @ (z / root))
            hess = (x.T @ sp.diags(mu / t) @ x + c * (d.T @ sp.diags(eps * eps / root**3) @ d)).tocsc()
            step = -spla.spsolve(hess, grad)
            scale = 1.0
            while True:
                candidate = beta + scale * step
                new_value = objective(candidate, eps)
                if new_value <= value or scale < 1e-8:
                    break
                scale /= 2
            moved = np.abs(candidate - beta).max()
            beta, gain, value = candidate, value - new_value, new_value
            if moved < 1e-10 or gain <= tol * abs(value):
                break
        else:
            break
    else:
        converged = bool(np.all(np.isfinite(beta)))
    return beta, converged


def _totals(data, name):
    if isinstance(data, xr.Dataset):
        data = data["value"]
    if not isinstance(data, xr.DataArray) or "time" not in data.dims:
        raise InputError(f"{name} must be a cube or a DataArray with a 'time' dimension")
    other = [dim for dim in data.dims if dim != "time"]
    return data.sum(other, min_count=1) if other else data


def fit_weekday(num, den, *, penalty=PENALTY) -> xr.Dataset:
    """Fit day-of-week effects on national totals of ``num`` over ``den`` (summed over every dim but time).

    Parameters
    ----------
    num, den : xarray.Dataset or xarray.DataArray
        Numerator and denominator counts (cubes use their ``value``), on the same daily time axis.

    Returns
    -------
    xarray.Dataset
        ``weekday_effect`` (``day_of_week`` Mon..Sun, log scale, summing to 0) and ``trend`` (``phi`` over
        time), with attr ``converged``. If the fit fails the effects are all 0 (no adjustment) and an
        error is logged, as upstream does.

    Examples
    --------
    >>> import pandas as pd
    >>> time = pd.date_range("2020-01-01", periods=10)
    >>> num = xr.DataArray(np.arange(1.0, 11), coords={"time": time})
    >>> params = fit_weekday(num, num + 10)
    >>> np.round(params.weekday_effect.values, 4).tolist()
    [-0.0599, -0.0727, -0.0562, 0.0343, 0.1253, 0.0456, -0.0164]
    """
    num_t, den_t = _totals(num, "num"), _totals(den, "den")
    if not num_t.indexes["time"].equals(den_t.indexes["time"]):
        raise InputError("num and den must share one time axis")
    dayofweek = num_t.indexes["time"].day_of_week.to_numpy()
    beta, converged = fit_weekday_arrays(num_t.values, den_t.values, dayofweek, penalty=penalty)
    alpha = beta[:6]
    if not converged or not np.all(np.isfinite(beta)):
        log.error("weekday fit failed", days=len(dayofweek))
        alpha = np.zeros(6)
    effect = np.append(alpha, -alpha.sum())
    return xr.Dataset(
        {"weekday_effect": ("day_of_week", effect), "trend": ("time", beta[6:])},
        coords={"day_of_week": list(DAYS), "time": num_t["time"]},
        attrs={"converged": int(converged), "penalty": penalty},
    )


def adjust_weekday(cube: xr.Dataset, params: xr.Dataset) -> xr.Dataset:
    """Divide each value (and stderr) by ``exp(weekday_effect)`` of its day; sample sizes are unchanged.

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
    effect = np.asarray(params["weekday_effect"].values, dtype=float)
    if effect.shape != (7,):
        raise InputError(f"weekday_effect must hold 7 values (Mon..Sun), got shape {effect.shape}")
    # Sunday is minus the sum of Monday..Saturday by construction, whatever the 7th value says
    effect = np.append(effect[:6], -effect[:6].sum())
    dayofweek = cube.indexes["time"].day_of_week.to_numpy()
    divisor = xr.DataArray(np.exp(effect[dayofweek]), coords={"time": cube["time"]}, dims="time")
    out = cube.copy(deep=False)
    for name in ("value", "stderr"):
        if name in cube:
            out[name] = (cube[name] / divisor).transpose(*cube[name].dims).astype(cube[name].dtype)
            out[name].attrs = cube[name].attrs
    note = "time: point (comment: divided by the fitted day-of-week effect)"
    out.attrs["cell_methods"] = f"{cube.attrs['cell_methods']} {note}" if cube.attrs.get("cell_methods") else note
    return out
