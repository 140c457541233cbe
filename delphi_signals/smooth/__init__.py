"""Smoothing along time and weekday adjustment of signal cubes.

:func:`smooth` is the cube API over the numba kernels in :mod:`.kernels`; :func:`fit_weekday` and
:func:`adjust_weekday` remove day-of-week effects (spec/indicators.md §2, §3).
"""

from .api import METHODS, smooth, smooth_array
from .weekday import adjust_weekday, fit_weekday

__all__ = ["METHODS", "adjust_weekday", "fit_weekday", "smooth", "smooth_array"]
