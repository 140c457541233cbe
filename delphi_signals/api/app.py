"""The Epidata-compatible HTTP server (FastAPI): ``/epidata/covidcast/``, ``/epidata/covidcast_meta/`` and
the legacy ``/epidata/api.php``, answering as the upstream server does so the official clients work unchanged.

Rows stream from a server-side cursor to the socket in batches, encoded with orjson, so memory stays flat
in the size of the answer. Every value reaches SQL as a bound parameter; source and signal names are checked
against ``signal_dim`` before any data query. Every request is logged as one JSON line.

Run it with ``delphi-signals serve --db URL`` (uvicorn), or for production under gunicorn with uvicorn
workers: ``DELPHI_SIGNALS_API_DB=URL gunicorn -k uvicorn.workers.UvicornWorker -w 4
'delphi_signals.api.app:app_from_env()'``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..analytics.coverage import WINDOW_DAYS, signal_coverage
from ..analytics.revisions import revision_profile
from ..epidata import Epidata
from ..epidata.schema import covidcast_meta_cache, create_schema, engine_for, signal_dim
from ..errors import InputError
from ..log import get_logger
from .faults import add_fault_routes, is_fault_path, row_faults
from .keys import parse_api_keys
from .params import (_GEO_VALUE, _NAME, GEO_TYPES, MAX_LAG, ApiError, CovidcastQuery, _time_int, bounded_int,
                     parse_covidcast, parse_meta, parse_time_list)
from .sql import COLUMNS, covidcast_statement

LOG = get_logger("delphi_signals.api")
MAX_RESULTS = 10_000_000
COMPAT_MAX_RESULTS = 3_650
MAX_QUERY_BYTES = 65_536
MAX_BODY_BYTES = 1_048_576
BATCH_ROWS = 5_000
DB_ENV = "DELPHI_SIGNALS_API_DB"
RESTRICTED_SOURCES = {"quidel": "quidel"}
"""Sources served only to API keys holding the role named here (as upstream's API serves quidel)."""


@dataclass
class Settings:
    """Server limits and access control.

    ``api_keys`` maps a key to its requests per minute; when it is empty every request is anonymous and
    unlimited. ``roles`` maps a key to its roles (:mod:`delphi_signals.api.keys`): ``write`` may change the fault
    record; a restricted source (:data:`RESTRICTED_SOURCES`) is served only to keys with its role, and is
    unknown to everyone else.
    """

    max_results: int = MAX_RESULTS
    compat_max_results: int = COMPAT_MAX_RESULTS
    api_keys: dict[str, int] = field(default_factory=dict)
    roles: dict[str, frozenset] = field(default_factory=dict)
    signal_cache_seconds: float = 30.0


class _RateLimiter:
    """Requests per key per minute, in a sliding one-minute window (per process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict[str, list[float]] = {}

    def allow(self, key: str, per_minute: int) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._seen.get(key, []) if now - t < 60.0]
            allowed = len(recent) < per_minute
            if allowed:
                recent.append(now)
            self._seen[key] = recent
            return allowed


def _error_body(message: str) -> dict:
    return {"epidata": [], "result": -1, "message": message}


def _params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(sorted(params.items()), default=str).encode()).hexdigest()[:16]


class _Server:
    def __init__(self, db_url: str, settings: Settings):
        self.engine = engine_for(db_url)
        create_schema(self.engine)
        self.settings = settings
        self.limiter = _RateLimiter()
        self._signals: dict[tuple[str, str], int] = {}
        self._signals_at = -1e9
        self._lock = threading.Lock()

    def signal_keys(self) -> dict[tuple[str, str], int]:
        with self._lock:
            if time.monotonic() - self._signals_at > self.settings.signal_cache_seconds:
                with self.engine.connect() as conn:
                    rows = conn.execute(sa.select(signal_dim.c.source, signal_dim.c.signal,
                                                  signal_dim.c.signal_key_id)).all()
                self._signals = {(source, signal): key for source, signal, key in rows}
                self._signals_at = time.monotonic()
            return self._signals

    def resolve(self, query: CovidcastQuery, hidden=frozenset()) -> list[int]:
        known = self.signal_keys()
        if not any(src == query.source for src, _ in known):
            self.signal_keys_refresh()
            known = self.signal_keys()
        sources = sorted({src for src, _ in known} - set(hidden))
        if query.source not in sources:
            raise ApiError(f"data_source {query.source!r} is unknown; known: {', '.join(sources) or '(none yet)'}")
        if query.signals is None:
            return sorted(key for (src, _), key in known.items() if src == query.source)
        missing = [s for s in query.signals if (query.source, s) not in known]
        if missing:
            raise ApiError(f"signals: {', '.join(repr(m) for m in missing[:5])} unknown for data_source "
                           f"{query.source!r}")
        return sorted(known[(query.source, s)] for s in query.signals)

    def signal_keys_refresh(self):
        with self._lock:
            self._signals_at = -1e9


def _respond_error(message: str, fmt: str, status: int = 400) -> Response:
    if fmt == "classic":
        return JSONResponse(_error_body(message), status_code=200)
    return JSONResponse(_error_body(message), status_code=status)


def _row_dicts(rows, fields: tuple[str, ...], annotate=None):
    index = {name: i for i, name in enumerate(COLUMNS)}
    picks = [(name, index.get(name)) for name in fields]
    dicts = [{name: (None if i is None else row[i]) for name, i in picks} for row in rows]
    if annotate is not None:  # fault_ids, asked for in fields
        at = [index[name] for name in ("signal", "geo_value", "time_value", "issue")]
        for d, row in zip(dicts, rows):
            d["fault_ids"] = annotate(*(row[i] for i in at))
    return dicts


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)
    return str(value)


def create_app(db_url: str, settings: Settings | None = None) -> FastAPI:
    """The FastAPI application over the epidata database at ``db_url``.

    Examples
    --------
    >>> app = create_app("sqlite://")
    >>> {"/epidata/api.php", "/epidata/covidcast/", "/epidata/covidcast_meta/"} <= {getattr(r, "path", None)
    ...                                                                               for r in app.routes}
    True
    """
    settings = settings or Settings()
    server = _Server(db_url, settings)
    app = FastAPI(title="delphi-signals Epidata API", version="4", openapi_url="/epidata/openapi.json",
                  docs_url="/epidata/docs", redoc_url=None,
                  description="COVIDcast signals with versions (as_of, issues, lag), answered as Delphi's Epidata "
                              "API answers them, so the official clients work against this server.")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        if len(request.url.query.encode()) > MAX_QUERY_BYTES:
            response = JSONResponse(_error_body(f"query string over {MAX_QUERY_BYTES} bytes; send it as POST"),
                                    status_code=414)
        elif int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            response = JSONResponse(_error_body(f"request body over {MAX_BODY_BYTES} bytes"), status_code=413)
        elif settings.api_keys and not is_fault_path(request.url.path) and not _authorized(request, settings, server):
            key = _api_key(request)
            status = 401 if key not in settings.api_keys else 429
            response = JSONResponse(_error_body("missing or unknown API key" if status == 401 else
                                                "rate limit exceeded for this API key"), status_code=status)
        else:
            try:
                response = await call_next(request)
            except Exception as exc:  # never a stack trace in a response
                LOG.error("request failed", route=request.url.path, error=type(exc).__name__)
                response = JSONResponse(_error_body("internal error"), status_code=500)
        if not isinstance(response, StreamingResponse) or response.status_code != 200:
            LOG.info("request", route=request.url.path, method=request.method,
                     params_hash=_params_hash(dict(request.query_params)), status=response.status_code,
                     ms=round((time.perf_counter() - started) * 1000, 1))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse(_error_body("invalid request parameters"), status_code=200)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse(_error_body(str(exc.detail)), status_code=exc.status_code)

    async def _all_params(request: Request) -> dict:
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    async def _covidcast(params: dict, request: Request, *, compat: bool) -> Response:
        started = time.perf_counter()
        fmt = (params.get("format") or "classic").lower()
        try:
            query = parse_covidcast(params, compat=compat)
            hidden = _hidden_sources(request, settings)
            if query.source in hidden:
                raise ApiError(f"data_source {query.source!r} is unknown")
            keys = server.resolve(query, hidden=hidden)
        except ApiError as exc:
            return _respond_error(str(exc), fmt if fmt in ("json", "csv", "jsonl") else "classic")
        limit = settings.compat_max_results if compat else settings.max_results
        statement, bound = covidcast_statement(query, keys, limit + 1, compat=compat)
        annotate = row_faults(server.engine, query) if "fault_ids" in query.fields else None
        try:  # the first batch before the status line: a query the database refuses is an error, not 200 and []
            rows = await run_in_threadpool(_OpenRows, server.engine, statement, bound)
        except sa.exc.SQLAlchemyError as exc:
            LOG.error("query failed", route=request.url.path, error=type(exc).__name__,
                      detail=str(getattr(exc, "orig", exc))[:200])
            return _respond_error("the database could not run this query", query.format, status=500)
        stream = _stream(rows, query, limit, request, started, annotate)
        media = {"classic": "application/json", "json": "application/json", "csv": "text/csv",
                 "jsonl": "application/x-ndjson"}[query.format]
        headers = {"Content-Disposition": "attachment; filename=epidata.csv"} if query.format == "csv" else {}
        return StreamingResponse(stream, media_type=media, headers=headers, background=BackgroundTask(rows.close))

    @app.get("/epidata/covidcast/", summary="COVIDcast signals (GET)")
    async def covidcast_get(
        request: Request,
        data_source: str | None = Query(None, description="source name, e.g. jhu-csse"),
        signals: str | None = Query(None, description="comma list of signal names, or *"),
        signal: str | None = Query(None, description="older name of signals"),
        time_type: str | None = Query(None, description="day or week"),
        geo_type: str | None = Query(None, description="county, state, msa, hrr, hhs, nation, …"),
        time_values: str | None = Query(None, description="YYYYMMDD (day) or YYYYWW (week) values, a-b ranges, comma "
                                                  "lists, or *"),
        geo_value: str | None = Query(None, description="one geo id or *"),
        geo_values: str | None = Query(None, description="comma list of geo ids, or *"),
        as_of: str | None = Query(None, description="what was known on this date (YYYYMMDD or YYYYWW)"),
        issues: str | None = Query(None, description="issue dates: values, ranges, comma lists, or *"),
        lag: str | None = Query(None, description="rows published this many days (weeks) after their time"),
        format: str | None = Query(None, description="classic (default), json, csv or jsonl"),
        fields: str | None = Query(None, description="fields to include, or -field to exclude"),
    ):
        return await _covidcast(dict(request.query_params), request, compat=False)

    @app.post("/epidata/covidcast/", summary="COVIDcast signals (POST, form-encoded, same parameters as GET)")
    async def covidcast_post(request: Request):
        return await _covidcast(await _all_params(request), request, compat=False)

    async def _api_php(request: Request):
        params = await _all_params(request)
        endpoint = params.pop("endpoint", None) or params.pop("source", None)
        if endpoint == "covidcast":
            return await _covidcast(params, request, compat=True)
        if endpoint == "covidcast_meta":
            return _meta(params, request)
        return _respond_error(f"endpoint {str(endpoint)[:40]!r} is not served here; use covidcast or "
                              "covidcast_meta", "classic")

    app.add_api_route("/epidata/api.php", _api_php, methods=["GET", "POST"],
                      summary="legacy route: endpoint=covidcast (or source=covidcast), at most 3,650 rows")

    def _meta(params: dict, request: Request | None = None) -> Response:
        fmt = (params.get("format") or "classic").lower()
        hidden = _hidden_sources(request, settings)
        try:
            query = parse_meta(params)
        except ApiError as exc:
            return _respond_error(str(exc), fmt if fmt in ("json", "csv", "jsonl") else "classic")
        with server.engine.connect() as conn:
            stored = conn.execute(sa.select(covidcast_meta_cache.c.epidata)
                                  .order_by(covidcast_meta_cache.c.timestamp.desc()).limit(1)).scalar()
        entries = json.loads(stored) if stored else []
        chosen = [e for e in entries
                  if e.get("data_source") not in hidden
                  and (query.time_types is None or e.get("time_type") in query.time_types)
                  and (query.geo_types is None or e.get("geo_type") in query.geo_types)
                  and (query.signals is None or any(e.get("data_source") == src and sig in (None, e.get("signal"))
                                                    for src, sig in query.signals))]
        chosen = [{k: e.get(k) for k in query.fields} for e in chosen]
        if query.format == "json":
            return Response(orjson.dumps(chosen), media_type="application/json")
        if query.format == "jsonl":
            return Response(b"".join(orjson.dumps(e) + b"\n" for e in chosen), media_type="application/x-ndjson")
        if query.format == "csv":
            lines = [",".join(query.fields)] + [",".join(_csv_cell(e[k]) for k in query.fields) for e in chosen]
            return Response("\n".join(lines) + "\n", media_type="text/csv")
        if not chosen:
            return JSONResponse({"epidata": [], "result": -2, "message": "no results"})
        return Response(orjson.dumps({"epidata": chosen, "result": 1, "message": "success"}),
                        media_type="application/json")

    def _analytics(params: dict, compute, request: Request | None = None) -> Response:
        fmt = (params.get("format") or "classic").lower()
        try:
            source = _name_param(params, "data_source")
            signal = _name_param(params, "signal", "signals")
            if source in _hidden_sources(request, settings):
                raise ApiError(f"data_source {source!r} is unknown")
            if (source, signal) not in server.signal_keys():
                server.signal_keys_refresh()
                if (source, signal) not in server.signal_keys():
                    raise ApiError(f"signal {signal!r} of data_source {source!r} is unknown")
            rows = compute(source, signal)
        except (ApiError, InputError) as exc:
            return _respond_error(str(exc), fmt if fmt in ("json", "csv", "jsonl") else "classic")
        if fmt == "json":
            return Response(orjson.dumps(rows), media_type="application/json")
        if not rows:
            return JSONResponse({"epidata": [], "result": -2, "message": "no results"})
        return Response(orjson.dumps({"epidata": rows, "result": 1, "message": "success"}),
                        media_type="application/json")

    @app.get("/epidata/covidcast/coverage", summary="regions with a value per day and geo type (the nightly's "
             "coverage, computed for this request)")
    async def coverage(
        request: Request,
        data_source: str | None = Query(None), signal: str | None = Query(None),
        date: str | None = Query(None, description="run date YYYYMMDD (default: today)"),
        days: str | None = Query(None, description="window length in days (default 56)"),
    ):
        params = dict(request.query_params)

        def compute(source, signal):
            run_date = _date_param(params.get("date")) or dt.date.today()
            days = bounded_int(params, "days", WINDOW_DAYS, 1, 3650)
            with server.engine.connect() as conn:
                return signal_coverage(conn, source, signal, run_date, days=days)["coverage"]

        return _analytics(params, compute, request)

    @app.get("/epidata/covidcast/backfill", summary="revision profile of one signal and region: each issue's "
             "value against the anchor issue's, by lag")
    async def backfill(
        request: Request,
        data_source: str | None = Query(None), signal: str | None = Query(None),
        geo_type: str | None = Query(None), geo_value: str | None = Query(None),
        time_type: str | None = Query(None, description="day (default) or week"),
        issues: str | None = Query(None, description="first-last issue range"),
        anchor_lag: str | None = Query(None, description="anchor issue: the last within this lag (default 60)"),
    ):
        params = dict(request.query_params)

        def compute(source, signal):
            time_type = (params.get("time_type") or "day").lower()
            if time_type not in ("day", "week"):
                raise ApiError(f"time_type {time_type[:20]!r} is not day or week")
            geo_type = _required_param(params, "geo_type").lower()
            if geo_type not in GEO_TYPES:
                raise ApiError(f"geo_type {geo_type[:20]!r} is not one of {', '.join(GEO_TYPES)}")
            geo_value = _required_param(params, "geo_value").lower()
            if not _GEO_VALUE.match(geo_value):
                raise ApiError(f"geo_value {geo_value[:20]!r} is not a geo id")
            first, last = _issue_range(params, time_type)
            anchor = bounded_int(params, "anchor_lag", 60, 0, MAX_LAG)
            cube = Epidata(server.engine).fetch(source, signal, geo_type, geo_values=[geo_value],
                                                time_type=time_type, issues=(first, last))
            if "issue" not in cube.dims:  # a single issue in the range: nothing was revised
                cube = cube.drop_vars("issue").expand_dims(issue=[cube["issue"].values.max()]).transpose(
                    "geo", "time", "issue")
            profile = revision_profile(cube, geo_value, anchor_lag=anchor)
            out = profile.assign(time_value=profile.time_value.dt.strftime("%Y%m%d").astype(int),
                                 issue=profile.issue.dt.strftime("%Y%m%d").astype(int))
            return [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                    for row in out.to_dict(orient="records")]

        return _analytics(params, compute, request)

    @app.get("/epidata/covidcast_meta/", summary="metadata of every signal, from the metadata cache")
    async def covidcast_meta(
        request: Request,
        time_types: str | None = Query(None, description="comma list: day, week"),
        geo_types: str | None = Query(None, description="comma list of geo types"),
        signals: str | None = Query(None, description="comma list of source, source:* or source:signal"),
        fields: str | None = Query(None, description="fields to include, or -field to exclude"),
        format: str | None = Query(None, description="classic (default), json, csv or jsonl"),
    ):
        return _meta(dict(request.query_params), request)

    add_fault_routes(app, server, settings)
    return app


def _required_param(params: dict, name: str) -> str:
    value = params.get(name)
    if not value:
        raise ApiError(f"missing parameter: {name}")
    return str(value)


def _name_param(params: dict, *names: str) -> str:
    for name in names:
        if params.get(name):
            value = str(params[name])
            if not _NAME.match(value):
                raise ApiError(f"{name} {value[:40]!r} is not a valid name")
            return value
    raise ApiError(f"missing parameter: {names[0]}")


def _date_param(text) -> dt.date | None:
    if not text:
        return None
    day = _time_int(str(text).strip(), "day", "date")
    return dt.date(day // 10000, day // 100 % 100, day % 100)


def _issue_range(params: dict, time_type: str) -> tuple[int, int]:
    ranges = parse_time_list(_required_param(params, "issues"), time_type, "issues")
    if not ranges:
        raise ApiError("issues must be a first-last range, not *")
    return ranges[0][0], ranges[-1][1]


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("api_key") or request.query_params.get("auth") or None


def _hidden_sources(request: Request | None, settings: Settings) -> frozenset:
    """The restricted sources the request's API key has no role for (all of them without a key)."""
    roles = settings.roles.get(_api_key(request), frozenset()) if request is not None else frozenset()
    return frozenset(src for src, role in RESTRICTED_SOURCES.items() if role not in roles)


def _authorized(request: Request, settings: Settings, server: _Server) -> bool:
    key = _api_key(request)
    if key not in settings.api_keys:
        return False
    return server.limiter.allow(key, settings.api_keys[key])


class _OpenRows:
    """A query running on a server-side cursor, its first batch already fetched (so the database's refusal
    comes before any byte of the answer); iterate for the batches, then :meth:`close`."""

    def __init__(self, engine, statement, bound: dict):
        self.conn = engine.connect()
        try:
            result = self.conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(statement, bound)
            self.batches = result.partitions(BATCH_ROWS)
            self.first = next(self.batches, [])
        except BaseException:
            self.conn.close()
            raise

    def __iter__(self):
        yield self.first
        yield from self.batches

    def close(self) -> None:
        self.conn.close()


def _stream(rows: _OpenRows, query: CovidcastQuery, limit: int, request: Request, started: float, annotate=None):
    """Yield the response body: the rows in batches, in the query's format (``annotate``: the ``fault_ids`` of
    a row, when ``fields`` asks for them). A failure after the first byte ends a classic answer with
    ``result -1``; in the other formats it breaks the connection off, so a client sees an incomplete answer
    rather than a short one that looks complete."""
    fmt, fields = query.format, query.fields
    count = 0
    status = "ok"
    try:
        if fmt == "classic":
            yield b'{"epidata":['
        elif fmt == "json":
            yield b"["
        elif fmt == "csv":
            yield (",".join(fields) + "\n").encode()
        for batch in rows:
            room = limit - count
            picked = _row_dicts(batch[:room], fields, annotate)
            if picked:
                if fmt in ("classic", "json"):
                    body = orjson.dumps(picked)[1:-1]
                    yield (b"," if count else b"") + body
                elif fmt == "jsonl":
                    yield b"".join(orjson.dumps(r) + b"\n" for r in picked)
                else:
                    yield "".join(",".join(_csv_cell(r[f]) for f in fields) + "\n" for r in picked).encode()
            count += len(picked)
            if len(batch) > room:
                status = "truncated"
                break
        if fmt == "classic":
            if status == "truncated":
                yield b'],"result":2,"message":"too many results, data truncated"}'
            elif count == 0:
                yield b'],"result":-2,"message":"no results"}'
            else:
                yield b'],"result":1,"message":"success"}'
        elif fmt == "json":
            yield b"]"
    except Exception as exc:  # the status line is gone: close the body with an error the client can read
        status = "error"
        LOG.error("stream failed", error=type(exc).__name__, rows=count)
        if fmt != "classic":
            raise
        yield b'],"result":-1,"message":"error while reading rows"}'
    finally:
        rows.close()
        LOG.info("request", route=request.url.path, method=request.method,
                 params_hash=_params_hash(dict(request.query_params)), status=200, rows=count, outcome=status,
                 ms=round((time.perf_counter() - started) * 1000, 1))


def app_from_env() -> FastAPI:
    """The app over ``$DELPHI_SIGNALS_API_DB`` (for uvicorn ``--factory`` and gunicorn workers).

    ``$DELPHI_SIGNALS_API_KEYS`` may hold a JSON object ``{"key": requests_per_minute}`` or, for a key with
    roles, ``{"key": {"rpm": 60, "roles": ["write", "quidel"]}}`` (:func:`delphi_signals.api.keys.parse_api_keys`).
    """
    url = os.environ.get(DB_ENV)
    if not url:
        raise ApiError(f"set ${DB_ENV} to the database URL")
    rates, roles = parse_api_keys(os.environ.get("DELPHI_SIGNALS_API_KEYS") or "{}")
    return create_app(url, Settings(api_keys=rates, roles=roles))
