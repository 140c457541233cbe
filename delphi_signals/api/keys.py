"""API keys: ``$DELPHI_SIGNALS_API_KEYS`` parsed into requests per minute and roles per key.

A key is ``{"key": requests_per_minute}`` (a plain read key) or ``{"key": {"rpm": n, "roles": [...]}}``. Roles
in use: ``write`` (may change the fault record) and a restricted source's own role (``quidel``: served only to
keys holding it).
"""

from __future__ import annotations

import json

from .params import ApiError


def parse_api_keys(spec) -> tuple[dict[str, int], dict[str, frozenset]]:
    """``$DELPHI_SIGNALS_API_KEYS`` (its JSON text, or the object itself) as (rpm per key, roles per key).

    Examples
    --------
    >>> parse_api_keys('{"r": 60, "w": {"rpm": 30, "roles": ["write"]}}')
    ({'r': 60, 'w': 30}, {'r': frozenset(), 'w': frozenset({'write'})})
    >>> parse_api_keys({"lab": {"rpm": 5, "roles": ["quidel"]}})
    ({'lab': 5}, {'lab': frozenset({'quidel'})})
    """
    raw = json.loads(spec or "{}") if isinstance(spec, (str, bytes)) else spec
    if not isinstance(raw, dict):
        raise ApiError("DELPHI_SIGNALS_API_KEYS must be a JSON object of key -> rpm or {rpm, roles}")
    rates, roles = {}, {}
    for key, value in raw.items():
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"rpm", "roles"})
            if unknown or not isinstance(value.get("roles", []), list):
                raise ApiError(f"DELPHI_SIGNALS_API_KEYS: key {str(key)[:8]}…: expected {{rpm, roles: [...]}}")
            rates[str(key)], roles[str(key)] = int(value.get("rpm", 60)), frozenset(map(str, value.get("roles", [])))
        else:
            rates[str(key)], roles[str(key)] = int(value), frozenset()
    return rates, roles
