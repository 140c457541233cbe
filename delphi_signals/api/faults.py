"""The fault record over HTTP: ``GET /epidata/faults/`` (public), ``POST /epidata/faults/`` and
``POST /epidata/faults/{id}/status`` (a key with the ``write`` role), and the ``fault_ids`` field of ``covidcast``.

Answers are Epidata-style JSON (``result``, ``message``, ``epidata``): ``result 1`` with rows, ``-2`` no rows,
``-1`` a bad request whose message names the parameter (HTTP 200 for reads, as the classic endpoints; 400 for a
write). A write without a key, or with an unknown one, is 401; a known key without the ``write`` role 403.

Keys come from ``$DELPHI_SIGNALS_API_KEYS``: ``{"key": 60}`` is a read key (60 requests per minute),
``{"key": {"rpm": 60, "roles": ["write"]}}`` a key that may also write.
"""

from __future__ import annotations


import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from ..errors import InputError
from ..faults import add_fault, list_faults, update_fault
from ..faults.cover import RowFaults, covering_scopes
from ..faults.record import CATEGORIES, STATUSES, FaultNotFoundError
from ..log import get_logger
from .params import _GEO_VALUE, _NAME, GEO_TYPES, ApiError, CovidcastQuery, parse_time_list

LOG = get_logger("delphi_signals.api.faults")
WRITE_ROLE = "write"
FAULT_PATHS = ("/faults", "/epidata/faults")
FILTERS = ("source", "signal", "status", "category", "geo_type", "geo_value", "time_values")


def _json_object(raw: bytes, fields: tuple[str, ...]) -> dict:
    """A write request's body: a JSON object with no field outside ``fields``, else :class:`ApiError`.

    >>> _json_object(b'{"status": "open"}', ("status", "note"))
    {'status': 'open'}
    >>> _json_object(b'[1]', ("status",))
    Traceback (most recent call last):
    ...
    delphi_signals.api.params.ApiError: the body must be a JSON object
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError("the body must be a JSON object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(f"unknown field(s) {', '.join(repr(u[:20]) for u in unknown[:5])}")
    return body


def is_fault_path(path: str) -> bool:
    """Routes that check keys themselves: the fault record's reads are public, its writes need the write role."""
    return path == "/faults" or path.startswith(("/faults/", "/epidata/faults"))


def request_key(request: Request, form: dict | None = None) -> str | None:
    """The API key of a request: ``Authorization: Bearer``, then ``api_key`` in the query, then in a form."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.query_params.get("api_key") or (form or {}).get("api_key") or None


def write_denied(key: str | None, server, settings) -> tuple[int, str] | None:
    """``None`` when ``key`` may write; else the HTTP status (401, 403, 429) and why."""
    if not key or key not in settings.api_keys:
        return 401, "writing the fault record needs an API key with the write role (missing or unknown key)"
    if WRITE_ROLE not in settings.roles.get(key, frozenset()):
        return 403, "this API key has no write role"
    if not server.limiter.allow(key, settings.api_keys[key]):
        return 429, "rate limit exceeded for this API key"
    return None


def row_faults(engine, query: CovidcastQuery) -> RowFaults:
    """The ``fault_ids`` of each row of a ``covidcast`` answer (``as_of`` honoured)."""
    as_of = query.as_of
    if as_of is not None and query.time_type == "week":
        from ..timeaxis import parse_weeks

        as_of = int(parse_weeks([as_of])[0].strftime("%Y%m%d"))
    return RowFaults(covering_scopes(engine, query.source, None, query.geo_type, as_of=as_of),
                     week=query.time_type == "week")


def _body(result: int, message: str, epidata=(), status: int = 200) -> Response:
    return Response(orjson.dumps({"epidata": list(epidata), "result": result, "message": message}),
                    status_code=status, media_type="application/json")


def fault_filters(params: dict) -> dict:
    """Check the filters of a fault listing (``source``, ``signal``, ``status``, ``category``, ``geo_type``,
    ``geo_value``, ``time_values``); the keyword arguments of :func:`delphi_signals.faults.list_faults`."""
    out = {}
    for name in ("source", "signal"):
        if params.get(name):
            value = str(params[name])
            if not _NAME.match(value):
                raise ApiError(f"{name} {value[:40]!r} is not a valid name")
            out[name] = value
    for name, choices in (("status", STATUSES), ("category", CATEGORIES), ("geo_type", GEO_TYPES)):
        if params.get(name):
            value = str(params[name]).strip().lower()
            if value not in choices:
                raise ApiError(f"{name} {value[:40]!r} is not one of {', '.join(choices)}")
            out[name] = value
    if params.get("geo_value"):
        value = str(params["geo_value"]).strip().lower()
        if not _GEO_VALUE.match(value):
            raise ApiError(f"geo_value {value[:40]!r} is not a valid geo value")
        out["geo_value"] = value
    if params.get("time_values"):
        ranges = parse_time_list(str(params["time_values"]), "day", "time_values")
        if ranges:
            out["time_values"] = (ranges[0][0], ranges[-1][1])
    return out


def fault_records(frame) -> list[dict]:
    """Rows of :func:`list_faults` as JSON-ready dicts (missing dates as ``None``)."""
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({k: (None if v is None or (not isinstance(v, (list, str)) and v != v)
                            or str(v) == "<NA>" else (int(v) if k in _INT_COLUMNS else v)) for k, v in row.items()})
    return records


_INT_COLUMNS = {"fault_id", "reported_date", "resolved_date", "start", "end", "issue_start", "issue_end"}


def add_fault_routes(app: FastAPI, server, settings) -> None:
    """Mount the fault record's JSON routes and its HTML pages on ``app``."""
    router = APIRouter()

    @router.get("/epidata/faults/", summary="faults, one row per fault and scope (filters: source, signal, status, "
                "category, geo_type, geo_value, time_values)")
    async def faults_get(request: Request):
        params = dict(request.query_params)
        unknown = sorted(set(params) - set(FILTERS) - {"api_key", "format"})
        try:
            if unknown:
                raise ApiError(f"unknown parameter(s) {', '.join(repr(u[:20]) for u in unknown[:5])}; "
                               f"known: {', '.join(FILTERS)}")
            frame = list_faults(server.engine, **fault_filters(params))
        except InputError as exc:
            return _body(-1, str(exc))
        if frame.empty:
            return _body(-2, "no results")
        return _body(1, "success", fault_records(frame))

    @router.post("/epidata/faults/", summary="record a fault (JSON body: title, category, scopes, description, "
                 "links, reported_by, status); needs a key with the write role")
    async def faults_post(request: Request):
        denied = write_denied(request_key(request), server, settings)
        if denied:
            return _body(-1, denied[1], status=denied[0])
        try:
            body = _json_object(await request.body(), ("title", "category", "scopes", "description", "links",
                                                       "reported_by", "status"))
            fault_id = add_fault(server.engine, body.get("title"), body.get("category"), body.get("scopes"),
                                 description=body.get("description") or "", links=body.get("links") or (),
                                 reported_by=body.get("reported_by"), status=body.get("status") or "open")
        except InputError as exc:
            return _body(-1, str(exc), status=400)
        LOG.info("fault added", fault_id=fault_id)
        return _body(1, "success", [{"fault_id": fault_id}])

    @router.post("/epidata/faults/{fault_id}/status", summary="change a fault's status (JSON body: status, note, "
                 "changed_by); needs a key with the write role")
    async def fault_status(fault_id: str, request: Request):
        denied = write_denied(request_key(request), server, settings)
        if denied:
            return _body(-1, denied[1], status=denied[0])
        try:
            body = _json_object(await request.body(), ("status", "note", "changed_by"))
            update_fault(server.engine, fault_id, status=body.get("status"), note=body.get("note"),
                         changed_by=body.get("changed_by"))
        except FaultNotFoundError as exc:
            return _body(-1, str(exc), status=404)
        except InputError as exc:
            return _body(-1, str(exc), status=400)
        LOG.info("fault status changed", fault_id=fault_id, status=body.get("status"))
        return _body(1, "success", [{"fault_id": int(fault_id), "status": body.get("status")}])

    app.include_router(router)
    from .fault_pages import fault_pages

    app.include_router(fault_pages(server, settings))

