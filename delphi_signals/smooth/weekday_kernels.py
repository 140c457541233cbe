"""Numba solver of the weekday model: a primal-dual interior-point method using the problem's structure.

Problem, per series (``T`` days, ``m = T - 3`` third differences, ``c = penalty**2 / (T - 2)``)::

    minimise  F(alpha, phi) + c * sum_i |z_i|,   z = D phi (third differences),
    F = (1/T) sum_t [den_t exp(eta_t) - num_t eta_t],   eta_t = phi_t + s_t . alpha

where ``s_t`` is the unit vector of the weekday (Mon..Sat) or all -1 on Sundays. Written with slacks
``u >= |z|`` (constraints ``z - u <= 0`` and ``-z - u <= 0``, multipliers ``lam1``, ``lam2``), each Newton
step of the primal-dual method reduces, after eliminating ``u`` and the multipliers, to::

    [ A   B ] [d_alpha]     [ r_alpha        ]
    [ B'  K ] [d_phi  ] = - [ r_phi + D' p   ],   K = diag(mu) + D' diag(w) D,  mu = den exp(eta) / T

``K`` is banded (half-bandwidth 3) and ``A`` is 6 x 6, so a step is one banded Cholesky of ``K``, six
banded solves for ``K^{-1} B'`` and a 6 x 6 Schur complement, then one banded solve for each of the two
directions of Mehrotra's predictor-corrector scheme: O(T) in all. The stopping rule is the surrogate duality gap
``sum(lam1 (u - z) + lam2 (u + z))`` (a bound on how far the objective is from the optimum once the dual
residual is nil) together with the dual residual ``r = grad F + D' (lam1 - lam2)``, the "gradient" of the
non-smooth problem reported per fit.

Hard series (weeks of zero counts before the first case, spikes, weekdays with no reports) drive ``phi`` to
-30 and below where the counts are zero, so ``den exp(eta)`` underflows and the Newton system loses its
conditioning. Three fallbacks keep the method going there, each only when the step before it failed: the
plain Newton step towards the centring target (Mehrotra's corrected step need not descend the residual
merit) and then towards more centred targets; a diagonal shift of ``K`` grown until its banded Cholesky
holds (an inexact Newton step the line search still has to accept); and up to ``MAX_RESTARTS`` restarts of
the multipliers and slacks from the current primal point. None applies near the optimum, where rounding,
not conditioning, stops progress.

Status codes per fit: ``CONVERGED``; ``NEAR_OPTIMUM`` (no step could reduce the residual any more, by
rounding, or the step budget ran out, with the gap and the dual residual already within ``ROUNDING_SLACK``
times the tolerances);
``MAX_STEPS`` (the step budget ran out); ``STALLED`` (no step reduced the residual far from the optimum:
the problem is numerically degenerate or unbounded).
"""

from __future__ import annotations

import math

import numba
import numpy as np

CONVERGED, MAX_STEPS, STALLED, NEAR_OPTIMUM = 0, 1, 2, 3
ROUNDING_SLACK = 100.0
MAX_RESTARTS = 3
N_ALPHA = 6
PAD = 3
# Not fastmath=True: it includes 'nnan', which would fold the finiteness tests away.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(inline="always")
def _coef(a):
    if a == 0:
        return -1.0
    if a == 1:
        return 3.0
    if a == 2:
        return -3.0
    return 1.0


@numba.njit(cache=True)
def _eta(alpha, phi, dow, out):
    sunday = 0.0
    for j in range(N_ALPHA):
        sunday -= alpha[j]
    for t in range(phi.shape[0]):
        out[t] = phi[t] + (alpha[dow[t]] if dow[t] < N_ALPHA else sunday)


@numba.njit(cache=True)
def _third_diff(phi, z):
    for i in range(z.shape[0]):
        z[i] = -phi[i] + 3.0 * phi[i + 1] - 3.0 * phi[i + 2] + phi[i + 3]


@numba.njit(cache=True)
def _loss(alpha, phi, num, den, dow, inv_t, eta):
    """F(alpha, phi); ``eta`` is scratch."""
    _eta(alpha, phi, dow, eta)
    total = 0.0
    for t in range(phi.shape[0]):
        if den[t] > 0.0:
            total += den[t] * math.exp(eta[t]) - num[t] * eta[t]
    return total * inv_t


@numba.njit(cache=True)
def objective(alpha, phi, num, den, dow, penalty_weight):
    """The true (non-smooth) objective F + c * ||D phi||_1."""
    n = phi.shape[0]
    eta = np.empty(n)
    value = _loss(alpha, phi, num, den, dow, 1.0 / n, eta)
    l1 = 0.0
    for i in range(n - 3):
        l1 += abs(-phi[i] + 3.0 * phi[i + 1] - 3.0 * phi[i + 2] + phi[i + 3])
    return value + penalty_weight * l1


@numba.njit(cache=True)
def _residuals(alpha, phi, u, lam1, lam2, num, den, dow, inv_t, c, inv_barrier,
               eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2):
    """Fill eta, mu (= den exp(eta) / T), z and the residuals; return the residual norm squared, or inf if
    a slack is not strictly positive."""
    n = phi.shape[0]
    m = n - 3
    _eta(alpha, phi, dow, eta)
    _third_diff(phi, z)
    total = 0.0
    for i in range(m):
        f1 = u[i] - z[i]
        f2 = u[i] + z[i]
        if not (f1 > 0.0 and f2 > 0.0):
            return np.inf
        r_u[i] = c - lam1[i] - lam2[i]
        r_c1[i] = lam1[i] * f1 - inv_barrier
        r_c2[i] = lam2[i] * f2 - inv_barrier
        total += r_u[i] * r_u[i] + r_c1[i] * r_c1[i] + r_c2[i] * r_c2[i]
    for j in range(N_ALPHA):
        r_alpha[j] = 0.0
    for t in range(n):
        if den[t] > 0.0:
            mu[t] = den[t] * math.exp(eta[t]) * inv_t
            g = mu[t] - num[t] * inv_t
        else:
            mu[t] = 0.0
            g = 0.0
        r_phi[t] = g
        if dow[t] < N_ALPHA:
            r_alpha[dow[t]] += g
        else:
            for j in range(N_ALPHA):
                r_alpha[j] -= g
    for i in range(m):
        nu = lam1[i] - lam2[i]
        for a in range(4):
            r_phi[i + a] += _coef(a) * nu
    for t in range(n):
        total += r_phi[t] * r_phi[t]
    for j in range(N_ALPHA):
        total += r_alpha[j] * r_alpha[j]
    if not math.isfinite(total):
        return np.inf
    return total


@numba.njit(cache=True, fastmath=FASTMATH)
def _band_cholesky(kb, lb):
    """Banded Cholesky factor of K, both stored as 4 bands padded by ``PAD`` zeros at each end.

    ``kb[k, PAD + i] = K[i, i - k]``; on return ``lb[k, PAD + i] = L[i, i - k]`` for k = 1..3 and
    ``lb[0, PAD + i] = 1 / L[i, i]``. Returns False if a pivot is not positive (K numerically singular).
    """
    n = kb.shape[1] - 2 * PAD
    for k in range(4):
        for i in range(PAD):
            lb[k, i] = 0.0
            lb[k, PAD + n + i] = 0.0
    inv = lb[0]
    l1 = lb[1]
    l2 = lb[2]
    l3 = lb[3]
    for i in range(PAD, PAD + n):
        a3 = kb[3, i] * inv[i - 3]
        a2 = (kb[2, i] - a3 * l1[i - 2]) * inv[i - 2]
        a1 = (kb[1, i] - a3 * l2[i - 1] - a2 * l1[i - 1]) * inv[i - 1]
        pivot = kb[0, i] - a1 * a1 - a2 * a2 - a3 * a3
        if not (pivot > 0.0):
            return False
        l1[i] = a1
        l2[i] = a2
        l3[i] = a3
        inv[i] = 1.0 / math.sqrt(pivot)
    return True


@numba.njit(cache=True, fastmath=FASTMATH)
def _band_solve(lb, x):
    """In place: each column of ``x`` (rows padded like ``lb``, padding zero) <- K^{-1} column."""
    n = lb.shape[1] - 2 * PAD
    ncol = x.shape[1]
    inv = lb[0]
    l1 = lb[1]
    l2 = lb[2]
    l3 = lb[3]
    for i in range(PAD, PAD + n):
        for j in range(ncol):
            x[i, j] = (x[i, j] - l1[i] * x[i - 1, j] - l2[i] * x[i - 2, j] - l3[i] * x[i - 3, j]) * inv[i]
    for i in range(PAD + n - 1, PAD - 1, -1):
        for j in range(ncol):
            x[i, j] = (x[i, j] - l1[i + 1] * x[i + 1, j] - l2[i + 2] * x[i + 2, j] - l3[i + 3] * x[i + 3, j]) * inv[i]


@numba.njit(cache=True)
def _cholesky_factor(a):
    """In place: lower Cholesky factor of a small symmetric positive definite ``a``. False if not one."""
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = a[i, j]
            for k in range(j):
                s -= a[i, k] * a[j, k]
            if i == j:
                if not (s > 0.0):
                    return False
                a[i, i] = math.sqrt(s)
            else:
                a[i, j] = s / a[j, j]
    return True


@numba.njit(cache=True)
def _cholesky_apply(factor, b):
    """In place: b <- A^{-1} b with ``factor`` from :func:`_cholesky_factor`."""
    n = factor.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= factor[i, k] * b[k]
        b[i] = s / factor[i, i]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, n):
            s -= factor[k, i] * b[k]
        b[i] = s / factor[i, i]


@numba.njit(cache=True)
def _start(num, den, phi):
    """phi0: log of the rate over a centred 7-day window of used days (a floor of half a count)."""
    n = phi.shape[0]
    total_num = 0.0
    total_den = 0.0
    for t in range(n):
        if den[t] > 0.0:
            total_num += max(num[t], 0.0)
            total_den += den[t]
    overall = max(total_num, 0.5) / total_den
    for t in range(n):
        s_num = 0.0
        s_den = 0.0
        for k in range(max(0, t - 3), min(n, t + 4)):
            if den[k] > 0.0:
                s_num += max(num[k], 0.0)
                s_den += den[k]
        phi[t] = math.log(max(s_num, 0.5) / s_den) if s_den > 0.0 else math.log(overall)


@numba.njit(cache=True, fastmath=FASTMATH)
def _band_solve_vector(lb, x):
    """In place: ``x`` (padded like ``lb``, padding zero) <- K^{-1} x."""
    n = lb.shape[1] - 2 * PAD
    inv = lb[0]
    l1 = lb[1]
    l2 = lb[2]
    l3 = lb[3]
    for i in range(PAD, PAD + n):
        x[i] = (x[i] - l1[i] * x[i - 1] - l2[i] * x[i - 2] - l3[i] * x[i - 3]) * inv[i]
    for i in range(PAD + n - 1, PAD - 1, -1):
        x[i] = (x[i] - l1[i + 1] * x[i + 1] - l2[i + 2] * x[i + 2] - l3[i + 3] * x[i + 3]) * inv[i]


@numba.njit(cache=True, fastmath=FASTMATH)
def _direction(r_alpha, r_phi, r_u, r_c1, r_c2, u, z, lam1, lam2, mu, dow, lb, cols, schur_factor,
               g, d_alpha, d_phi, d_z, d_u, d_l1, d_l2):
    """Newton direction for the residuals given (``r_c*`` set the centring), reusing the factorisation:
    ``lb`` (banded Cholesky of K), ``cols`` (K^{-1} B', padded rows) and ``schur_factor`` (Cholesky of S)."""
    n = r_phi.shape[0]
    m = r_u.shape[0]
    for t in range(n):
        g[PAD + t] = r_phi[t]
    for i in range(m):
        f1 = u[i] - z[i]
        f2 = u[i] + z[i]
        s1 = lam1[i] / f1
        s2 = lam2[i] / f2
        q = r_u[i] + r_c1[i] / f1 + r_c2[i] / f2
        p = -r_c1[i] / f1 + r_c2[i] / f2 + (s1 - s2) / (s1 + s2) * q
        g[PAD + i] -= p
        g[PAD + i + 1] += 3.0 * p
        g[PAD + i + 2] -= 3.0 * p
        g[PAD + i + 3] += p
    _band_solve_vector(lb, g)
    for j in range(N_ALPHA):
        d_alpha[j] = -r_alpha[j]
    for t in range(n):
        v = mu[t] * g[PAD + t]
        if dow[t] < N_ALPHA:
            d_alpha[dow[t]] += v
        else:
            for j in range(N_ALPHA):
                d_alpha[j] -= v
    _cholesky_apply(schur_factor, d_alpha)
    for t in range(n):
        acc = g[PAD + t]
        for j in range(N_ALPHA):
            acc += cols[PAD + t, j] * d_alpha[j]
        d_phi[t] = -acc
    _third_diff(d_phi, d_z)
    for i in range(m):
        f1 = u[i] - z[i]
        f2 = u[i] + z[i]
        s1 = lam1[i] / f1
        s2 = lam2[i] / f2
        q = r_u[i] + r_c1[i] / f1 + r_c2[i] / f2
        d_u[i] = ((s1 - s2) * d_z[i] - q) / (s1 + s2)
        d_l1[i] = (-r_c1[i] - lam1[i] * (d_u[i] - d_z[i])) / f1
        d_l2[i] = (-r_c2[i] - lam2[i] * (d_u[i] + d_z[i])) / f2


@numba.njit(cache=True)
def _to_boundary(u, z, lam1, lam2, d_u, d_z, d_l1, d_l2):
    """Largest step in (0, 1] keeping the multipliers and the slacks u - z, u + z non-negative."""
    smax = 1.0
    for i in range(u.shape[0]):
        if d_l1[i] < 0.0:
            smax = min(smax, -lam1[i] / d_l1[i])
        if d_l2[i] < 0.0:
            smax = min(smax, -lam2[i] / d_l2[i])
        df1 = d_u[i] - d_z[i]
        if df1 < 0.0:
            smax = min(smax, -(u[i] - z[i]) / df1)
        df2 = d_u[i] + d_z[i]
        if df2 < 0.0:
            smax = min(smax, -(u[i] + z[i]) / df2)
    return smax


@numba.njit(cache=True)
def _factorise(mu, u, z, lam1, lam2, dow, kb, lb, cols, schur, shift):
    """Factorise the Newton matrix at the current point: ``lb`` (banded Cholesky of
    K = diag(mu + shift) + D' diag(w) D), ``cols`` (K^{-1} B') and ``schur`` (Cholesky of A - B K^{-1} B').
    False if K or the Schur complement is not numerically positive definite."""
    n = mu.shape[0]
    m = u.shape[0]
    for t in range(n):
        kb[0, PAD + t] = mu[t] + shift
        kb[1, PAD + t] = 0.0
        kb[2, PAD + t] = 0.0
        kb[3, PAD + t] = 0.0
    for i in range(m):
        s1 = lam1[i] / (u[i] - z[i])
        s2 = lam2[i] / (u[i] + z[i])
        weight = 4.0 * s1 * s2 / (s1 + s2)
        for a in range(4):
            ca = _coef(a) * weight
            for b in range(a + 1):
                kb[a - b, PAD + i + a] += ca * _coef(b)
    if not _band_cholesky(kb, lb):
        return False
    for t in range(n):
        for j in range(N_ALPHA):
            cols[PAD + t, j] = 0.0
        if dow[t] < N_ALPHA:
            cols[PAD + t, dow[t]] = mu[t]
        else:
            for j in range(N_ALPHA):
                cols[PAD + t, j] = -mu[t]
    _band_solve(lb, cols)
    for j in range(N_ALPHA):
        for k in range(N_ALPHA):
            schur[j, k] = 0.0
    for t in range(n):
        if dow[t] < N_ALPHA:
            j = dow[t]
            schur[j, j] += mu[t]
            for k in range(N_ALPHA):
                schur[j, k] -= mu[t] * cols[PAD + t, k]
        else:
            for j in range(N_ALPHA):
                for k in range(N_ALPHA):
                    schur[j, k] += mu[t] * (1.0 + cols[PAD + t, k])
    return _cholesky_factor(schur)


@numba.njit(cache=True)
def _merit(r_alpha, r_phi, r_u, r_c1, r_c2, target):
    """Squared residual norm with the centring residuals measured from ``target``."""
    total = 0.0
    for i in range(r_u.shape[0]):
        e1 = r_c1[i] - target
        e2 = r_c2[i] - target
        total += r_u[i] * r_u[i] + e1 * e1 + e2 * e2
    for t in range(r_phi.shape[0]):
        total += r_phi[t] * r_phi[t]
    for j in range(N_ALPHA):
        total += r_alpha[j] * r_alpha[j]
    return total


@numba.njit(cache=True)
def _line_search(point, step, s, norm2, num, den, dow, inv_t, c, target, trial, scratch):
    """Backtrack from step length ``s`` until the merit at ``target`` decreases enough; the accepted point
    is left in ``trial`` (and its residuals in ``scratch``). Returns the step length, 0 if none worked.

    ``point``, ``step`` and ``trial`` are tuples (alpha, phi, u, lam1, lam2); ``scratch`` is
    (eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2)."""
    alpha, phi, u, lam1, lam2 = point
    d_alpha, d_phi, d_u, d_l1, d_l2 = step
    t_alpha, t_phi, t_u, t_l1, t_l2 = trial
    eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2 = scratch
    while s > 1e-12:
        for j in range(N_ALPHA):
            t_alpha[j] = alpha[j] + s * d_alpha[j]
        for t in range(phi.shape[0]):
            t_phi[t] = phi[t] + s * d_phi[t]
        for i in range(u.shape[0]):
            t_u[i] = u[i] + s * d_u[i]
            t_l1[i] = lam1[i] + s * d_l1[i]
            t_l2[i] = lam2[i] + s * d_l2[i]
        t_norm2 = _residuals(t_alpha, t_phi, t_u, t_l1, t_l2, num, den, dow, inv_t, c, target,
                             eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2)
        if t_norm2 <= (1.0 - 0.01 * s) ** 2 * norm2:
            return s
        s *= 0.5
    return 0.0


@numba.njit(cache=True)
def _newton_step(point, residuals, a_c1, a_c2, target, factors, step, num, den, dow, inv_t, c, trial,
                 trial_scratch):
    """The direction for the centring residuals ``a_c1, a_c2`` (with the current factorisation), then the
    backtracking search at ``target`` from 0.99 of the way to the boundary; the step length taken (0: none),
    the point reached left in ``trial``."""
    alpha, phi, u, lam1, lam2 = point
    r_alpha, r_phi, r_u, r_c1, r_c2 = residuals
    mu, z, lb, cols, schur, g = factors
    d_alpha, d_phi, d_z, d_u, d_l1, d_l2 = step
    _direction(r_alpha, r_phi, r_u, a_c1, a_c2, u, z, lam1, lam2, mu, dow, lb, cols, schur,
               g, d_alpha, d_phi, d_z, d_u, d_l1, d_l2)
    s = min(1.0, 0.99 * _to_boundary(u, z, lam1, lam2, d_u, d_z, d_l1, d_l2))
    norm2 = _merit(r_alpha, r_phi, r_u, r_c1, r_c2, target)
    return _line_search(point, (d_alpha, d_phi, d_u, d_l1, d_l2), s, norm2, num, den, dow, inv_t, c, target,
                        trial, trial_scratch)


@numba.njit(cache=True)
def solve_one(num, den, dow, penalty_weight, gap_tol, feas_tol, max_steps, beta, info):
    """Fit one series in place: ``beta`` (6 + T) gets (alpha, phi); ``info`` gets
    (status, steps, dual residual max-norm, duality gap, objective).

    Mehrotra predictor-corrector: an affine step (no centring) sets the centring target
    ``sigma * gap / 2m`` with ``sigma = (gap after the affine step / gap)**3``; the corrected step then
    backtracks until the residual norm at that target decreases.
    """
    n = num.shape[0]
    m = n - 3
    inv_t = 1.0 / n
    c = penalty_weight
    alpha = np.zeros(N_ALPHA)
    phi = np.empty(n)
    _start(num, den, phi)
    u = np.empty(m)
    lam1 = np.full(m, 0.5 * c)
    lam2 = np.full(m, 0.5 * c)
    z = np.empty(m)
    _third_diff(phi, z)
    for i in range(m):
        u[i] = 1.1 * abs(z[i]) + 0.1
    # residuals at the current point, then at the trial point of the line search
    current = (np.empty(n), np.empty(n), z, np.empty(N_ALPHA), np.empty(n), np.empty(m), np.empty(m), np.empty(m))
    eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2 = current
    trial_scratch = (np.empty(n), np.empty(n), np.empty(m), np.empty(N_ALPHA), np.empty(n), np.empty(m),
                     np.empty(m), np.empty(m))
    a_c1 = np.empty(m)
    a_c2 = np.empty(m)
    kb = np.empty((4, n + 2 * PAD))
    lb = np.empty((4, n + 2 * PAD))
    cols = np.zeros((n + 2 * PAD, N_ALPHA))
    g = np.zeros(n + 2 * PAD)
    schur = np.empty((N_ALPHA, N_ALPHA))
    d_alpha = np.empty(N_ALPHA)
    d_phi = np.empty(n)
    d_z = np.empty(m)
    d_u = np.empty(m)
    d_l1 = np.empty(m)
    d_l2 = np.empty(m)
    trial = (np.empty(N_ALPHA), np.empty(n), np.empty(m), np.empty(m), np.empty(m))
    scale = 0.0
    for t in range(n):
        if den[t] > 0.0:
            scale = max(scale, abs(num[t]))
    feas_limit = feas_tol * (c + scale * inv_t)

    status = MAX_STEPS
    restarts = 0
    steps = 0
    dual_norm = np.inf
    gap = np.inf
    primal_value = 0.0
    for steps in range(max_steps + 1):
        norm2 = _residuals(alpha, phi, u, lam1, lam2, num, den, dow, inv_t, c, 0.0,
                           eta, mu, z, r_alpha, r_phi, r_u, r_c1, r_c2)
        if not math.isfinite(norm2):
            status = STALLED
            dual_norm = np.inf
            break
        gap = 0.0
        for i in range(m):
            gap += r_c1[i] + r_c2[i]  # lam1 (u - z) + lam2 (u + z): the centring residuals at target 0
        dual_norm = 0.0
        for t in range(n):
            dual_norm = max(dual_norm, abs(r_phi[t]))
        for j in range(N_ALPHA):
            dual_norm = max(dual_norm, abs(r_alpha[j]))
        primal_value = 0.0
        for t in range(n):
            primal_value += mu[t] - num[t] * inv_t * eta[t] if den[t] > 0.0 else 0.0
        for i in range(m):
            primal_value += c * abs(z[i])
        if dual_norm <= feas_limit and gap <= gap_tol * max(1.0, abs(primal_value)):
            status = CONVERGED
            break
        if steps == max_steps:
            break
        mu_max = 0.0
        for t in range(n):
            mu_max = max(mu_max, mu[t])
        # where den exp(eta) underflows (weeks of zero counts drive phi to -30 and below) K loses the positive
        # diagonal that keeps its banded Cholesky stable; a small shift, grown until the factorisation holds,
        # gives an inexact Newton step that the line search still accepts
        shift = 0.0
        factorised = _factorise(mu, u, z, lam1, lam2, dow, kb, lb, cols, schur, shift)
        while not factorised and shift < 1e-6 * mu_max:
            shift = 1e-14 * mu_max if shift == 0.0 else shift * 100.0
            factorised = _factorise(mu, u, z, lam1, lam2, dow, kb, lb, cols, schur, shift)
        if not factorised:
            status = STALLED
            break
        # predictor (affine) step, then the centring target
        _direction(r_alpha, r_phi, r_u, r_c1, r_c2, u, z, lam1, lam2, mu, dow, lb, cols, schur,
                   g, d_alpha, d_phi, d_z, d_u, d_l1, d_l2)
        s_aff = _to_boundary(u, z, lam1, lam2, d_u, d_z, d_l1, d_l2)
        gap_aff = 0.0
        for i in range(m):
            gap_aff += ((lam1[i] + s_aff * d_l1[i]) * (u[i] - z[i] + s_aff * (d_u[i] - d_z[i]))
                        + (lam2[i] + s_aff * d_l2[i]) * (u[i] + z[i] + s_aff * (d_u[i] + d_z[i])))
        sigma = min(1.0, max(0.0, gap_aff / gap)) ** 3
        target = sigma * gap / (2 * m)
        for i in range(m):
            a_c1[i] = r_c1[i] + d_l1[i] * (d_u[i] - d_z[i]) - target
            a_c2[i] = r_c2[i] + d_l2[i] * (d_u[i] + d_z[i]) - target
        point, residuals = (alpha, phi, u, lam1, lam2), (r_alpha, r_phi, r_u, r_c1, r_c2)
        factors, step = (mu, z, lb, cols, schur, g), (d_alpha, d_phi, d_z, d_u, d_l1, d_l2)
        s = _newton_step(point, residuals, a_c1, a_c2, target, factors, step, num, den, dow, inv_t, c, trial,
                         trial_scratch)
        # Mehrotra's second-order term makes the corrected step no Newton step of the merit, so it need not
        # descend; the plain Newton step towards a target does (the Jacobian is exact): first at the same
        # target, then at ever more centred ones, where the Newton system is better conditioned
        retry = 0
        near = (dual_norm <= ROUNDING_SLACK * feas_limit
                and gap <= ROUNDING_SLACK * gap_tol * max(1.0, abs(primal_value)))
        while s == 0.0 and retry < 4 and not near:  # near the optimum it is rounding that stops progress
            if retry > 0:
                target = min(gap / (2 * m), target * 10.0 + gap / (2 * m) * 0.1)
            for i in range(m):
                a_c1[i] = r_c1[i] - target
                a_c2[i] = r_c2[i] - target
            s = _newton_step(point, residuals, a_c1, a_c2, target, factors, step, num, den, dow, inv_t, c, trial,
                             trial_scratch)
            retry += 1
        if s == 0.0 and not near and restarts < MAX_RESTARTS:
            # no direction descends any more (the multipliers have drifted to where the Newton system is too
            # ill-conditioned): keep the primal point, restart the multipliers and slacks well centred
            restarts += 1
            for i in range(m):
                u[i] = 1.1 * abs(z[i]) + 0.1
                lam1[i] = 0.5 * c
                lam2[i] = 0.5 * c
            continue
        if s == 0.0:
            status = STALLED
            break
        alpha[:] = trial[0]
        phi[:] = trial[1]
        u[:] = trial[2]
        lam1[:] = trial[3]
        lam2[:] = trial[4]
    # stopped by rounding (no step reduces the residual) or by the budget while creeping at the last digits
    if ((status == STALLED or status == MAX_STEPS) and dual_norm <= ROUNDING_SLACK * feas_limit
            and gap <= ROUNDING_SLACK * gap_tol * max(1.0, abs(primal_value))):
        status = NEAR_OPTIMUM
    beta[:N_ALPHA] = alpha
    beta[N_ALPHA:] = phi
    info[0] = status
    info[1] = steps
    info[2] = dual_norm
    info[3] = gap
    info[4] = objective(alpha, phi, num, den, dow, c)


@numba.njit(cache=True, parallel=True)
def solve_parallel(num, den, dow, penalty_weight, gap_tol, feas_tol, max_steps, beta, info):
    """:func:`solve_one` over the rows of 2-D ``num``/``den`` (``prange`` over rows)."""
    for r in numba.prange(num.shape[0]):
        solve_one(num[r], den[r], dow, penalty_weight, gap_tol, feas_tol, max_steps, beta[r], info[r])


@numba.njit(cache=True)
def solve_serial(num, den, dow, penalty_weight, gap_tol, feas_tol, max_steps, beta, info):
    """:func:`solve_one` over the rows on the calling thread."""
    for r in range(num.shape[0]):
        solve_one(num[r], den[r], dow, penalty_weight, gap_tol, feas_tol, max_steps, beta[r], info[r])
