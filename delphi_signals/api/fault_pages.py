"""``/faults``: the fault record as server-rendered HTML pages (plain HTML and a little CSS, no JavaScript).

* ``GET /faults`` — every fault in a table, filterable by source, status and category, and a form to add one;
* ``GET /faults/{id}`` — its scopes, history and links, a plot of an affected signal with the fault window
  shaded (``/faults/{id}/plot.svg``, drawn by :func:`delphi_signals.plot.series`), and a form to change its
  status;
* ``POST /faults/new``, ``POST /faults/{id}/status`` — the forms; each asks for an API key with the ``write``
  role (401 without a known key, 403 without the role), then redirects to the fault's page.

Every string that comes from a user or the database is HTML-escaped where it is written into a page.
"""

from __future__ import annotations

import datetime as dt
import html
import io

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import InputError
from ..faults import CATEGORIES, STATUSES, add_fault, get_fault, list_faults, update_fault
from ..faults.record import FaultNotFoundError, iso
from ..log import get_logger
from .faults import request_key, write_denied

LOG = get_logger("delphi_signals.api.fault_pages")
PLOT_MARGIN_DAYS = 21
PLOT_GEO_TYPES = ("state", "county", "nation", "hhs", "msa", "hrr")
CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.status-proposed { color: #8a6d00; } .status-open { color: #b00; } .status-resolved { color: #060; }
.status-dismissed { color: #777; }
form.inline label { margin-right: 0.8em; }
fieldset { margin: 1em 0; max-width: 60em; } fieldset label { display: inline-block; min-width: 14em; margin: 0.2em 0; }
.error { background: #fee; border: 1px solid #c00; padding: 0.5em; }
"""


def esc(value) -> str:
    """HTML-escaped text of any value (``None`` and missing dates as an empty string)."""
    if value is None or (not isinstance(value, (str, list)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def _day(value) -> str:
    return "*" if value is None or pd.isna(value) else iso(value)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>")
    return HTMLResponse(text, status_code=status)


def _options(choices, selected, blank: str | None = "any") -> str:
    out = [f"<option value=''>{esc(blank)}</option>"] if blank is not None else []
    out += [f"<option value='{esc(c)}'{' selected' if c == selected else ''}>{esc(c)}</option>" for c in choices]
    return "".join(out)


def _add_form(values: dict) -> str:
    def field(name, label, kind="text", required=False):
        return (f"<label>{esc(label)}<br><input type='{kind}' name='{name}' id='add-{name}' "
                f"value='{esc(values.get(name, '') if kind != 'password' else '')}'{' required' if required else ''}>"
                f"</label> ")

    return ("<form method='post' action='/faults/new' id='add-fault'><fieldset><legend>Add a fault</legend>"
            + field("title", "title", required=True)
            + f"<label>category<br><select name='category' id='add-category'>"
              f"{_options(CATEGORIES, values.get('category'), blank=None)}</select></label> "
            + field("source", "source", required=True) + field("signals", "signals (comma-separated; empty: all)")
            + field("geo_type", "geo type (empty: all)") + field("geo_values", "geo values (comma-separated)")
            + field("start", "first day (YYYY-MM-DD)") + field("end", "last day (YYYY-MM-DD)")
            + field("description", "description") + field("link", "link (URL)") + field("reported_by", "reported by")
            + field("api_key", "write key", "password", required=True)
            + "<br><button type='submit' id='add-submit'>Add fault</button></fieldset></form>")


def _list_page(params: dict, server, error: str | None = None, form_values: dict | None = None,
               status: int = 200) -> HTMLResponse:
    filters = {k: params.get(k) or None for k in ("source", "status", "category")}
    problem = error
    try:
        frame = list_faults(server.engine, **filters)
    except InputError as exc:
        frame, problem = list_faults(server.engine).iloc[0:0], str(exc)
        status = 400
    rows = []
    for r in frame.itertuples(index=False):
        rows.append(f"<tr class='fault-row'><td><a href='/faults/{int(r.fault_id)}'>{int(r.fault_id)}</a></td>"
                    f"<td class='title'>{esc(r.title)}</td><td>{esc(r.category)}</td>"
                    f"<td class='status-{esc(r.status)}'>{esc(r.status)}</td><td>{esc(r.source)}</td>"
                    f"<td>{esc(r.signals or '*')}</td><td>{esc(r.geo_type or '*')}: {esc(r.geo_values or '*')}</td>"
                    f"<td>{_day(r.start)} .. {_day(r.end)}</td><td>{_day(r.reported_date)}</td></tr>")
    sources = sorted(set(list_faults(server.engine)["source"]))
    body = ("<h1>Fault record</h1><p>What is known to be wrong in the published signals, with the scope each fault "
            "touches.</p>"
            + (f"<p class='error' id='error'>{esc(problem)}</p>" if problem else "")
            + "<form method='get' action='/faults' class='inline' id='filter'>"
            f"<label>source <select name='source' id='filter-source'>{_options(sources, filters['source'])}</select>"
            f"</label><label>status <select name='status' id='filter-status'>"
            f"{_options(STATUSES, filters['status'])}</select></label>"
            f"<label>category <select name='category' id='filter-category'>"
            f"{_options(CATEGORIES, filters['category'])}</select></label>"
            "<button type='submit' id='filter-submit'>Filter</button></form>"
            "<table id='faults'><thead><tr><th>id</th><th>title</th><th>category</th><th>status</th><th>source</th>"
            "<th>signals</th><th>geo</th><th>time values</th><th>reported</th></tr></thead><tbody>"
            + ("".join(rows) or "<tr><td colspan='9'>no faults</td></tr>") + "</tbody></table>"
            + _add_form(form_values or {}))
    return _page("Fault record", body, status)


def _fault_page(record: dict, error: str | None = None, status: int = 200) -> HTMLResponse:
    fid = int(record["fault_id"])
    scopes = "".join(
        f"<tr><td>{esc(s['source'])}</td><td>{esc(', '.join(s['signals'] or ['*']))}</td>"
        f"<td>{esc(s['geo_type'] or '*')}</td><td>{esc(', '.join(s['geo_values'] or ['*']))}</td>"
        f"<td>{_day(s['start'])} .. {_day(s['end'])}</td><td>{_day(s['issue_start'])} .. {_day(s['issue_end'])}</td></tr>"
        for s in record["scopes"])
    history = "".join(
        f"<tr><td>{_day(h['changed_date'])}</td><td>{esc(h['action'])}</td><td>{esc(h['status'])}</td>"
        f"<td>{esc(h['changed_by'])}</td><td>{esc(h['note'])}</td></tr>" for h in record["history"])
    links = "".join(f"<li><a href='{esc(link)}' rel='noopener noreferrer'>{esc(link)}</a></li>"
                    if link.startswith(("http://", "https://")) else f"<li>{esc(link)}</li>"
                    for link in record["links"])
    resolved = (f"; {esc(record['status'])} {_day(record['resolved_date'])}: {esc(record['resolution'])}"
                if record["resolved_date"] else "")
    body = (f"<p><a href='/faults'>&larr; all faults</a></p><h1 id='fault-title'>Fault {fid}: {esc(record['title'])}</h1>"
            + (f"<p class='error' id='error'>{esc(error)}</p>" if error else "")
            + f"<p><b class='status-{esc(record['status'])}' id='fault-status'>{esc(record['status'])}</b> · "
            f"{esc(record['category'])} · reported {_day(record['reported_date'])} by "
            f"{esc(record['reported_by'] or '-')}{resolved}</p><p>{esc(record['description'])}</p>"
            "<h2>Scopes</h2><table id='scopes'><tr><th>source</th><th>signals</th><th>geo type</th><th>geo values</th>"
            f"<th>time values</th><th>issues</th></tr>{scopes}</table>"
            f"<h2>Plot</h2><img id='plot' src='/faults/{fid}/plot.svg' alt='an affected signal with the fault window "
            "shaded' width='800' height='300'>"
            f"<h2>Links</h2><ul id='links'>{links or '<li>none</li>'}</ul>"
            "<h2>History</h2><table id='history'><tr><th>date</th><th>action</th><th>status</th><th>by</th>"
            f"<th>note</th></tr>{history}</table>"
            f"<form method='post' action='/faults/{fid}/status' id='status-form'><fieldset><legend>Change status"
            f"</legend><label>status<br><select name='status' id='status-select'>"
            f"{_options(('open', 'resolved', 'dismissed'), 'resolved', blank=None)}</select></label> "
            "<label>note<br><input type='text' name='note' id='status-note'></label> "
            "<label>by<br><input type='text' name='changed_by' id='status-by'></label> "
            "<label>write key<br><input type='password' name='api_key' id='status-key' required></label> "
            "<button type='submit' id='status-submit'>Save</button></fieldset></form>")
    return _page(f"Fault {fid}", body, status)


def _split(text) -> list[str] | None:
    items = [t.strip() for t in str(text or "").split(",") if t.strip()]
    return items or None


def _svg_message(text: str) -> bytes:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='800' height='300'><rect width='800' height='300' "
            f"fill='#f6f6f6'/><text x='20' y='150' font-family='sans-serif' font-size='16'>{esc(text)}</text>"
            "</svg>").encode()


def fault_plot_svg(engine, record: dict) -> bytes:
    """An SVG of one signal the fault's first scope touches, around its time window, with the window shaded."""
    from matplotlib.figure import Figure

    from ..epidata import Epidata
    from ..epidata.schema import signal_dim
    from ..errors import NoRowsError
    from ..plot import series

    import sqlalchemy as sa

    scope = record["scopes"][0]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(signal_dim.c.signal).where(signal_dim.c.source == scope["source"])
                              .order_by(signal_dim.c.signal)).scalars().all()
    signals = [s for s in (scope["signals"] or stored) if s in stored][:3]
    geo_types = [scope["geo_type"]] if scope["geo_type"] else list(PLOT_GEO_TYPES)
    start = None if scope["start"] is None else pd.Timestamp(iso(scope["start"])) - pd.Timedelta(days=PLOT_MARGIN_DAYS)
    end = None if scope["end"] is None else pd.Timestamp(iso(scope["end"])) + pd.Timedelta(days=PLOT_MARGIN_DAYS)
    db = Epidata(engine)
    for signal in signals:
        for geo_type in geo_types:
            try:
                cube = db.fetch(scope["source"], signal, geo_type, geo_values=(scope["geo_values"] or [None])[0:1]
                                if scope["geo_values"] else None, start=start, end=end)
            except NoRowsError:
                continue
            geo = str(cube["geo"].values[0])
            first = pd.Timestamp(iso(scope["start"])) if scope["start"] else pd.Timestamp(cube["time"].values[0])
            last = pd.Timestamp(iso(scope["end"])) if scope["end"] else pd.Timestamp(cube["time"].values[-1])
            figure = Figure(figsize=(8, 3), dpi=100)
            ax = figure.subplots()
            series(cube, geo, ax=ax, windows=[(first, last, str(record["fault_id"]))])
            ax.set_title(f"{scope['source']}: {signal} ({geo_type} {geo})")
            figure.autofmt_xdate()
            figure.tight_layout()
            out = io.BytesIO()
            figure.savefig(out, format="svg")
            return out.getvalue()
    return _svg_message("no stored data for this fault's scope")


def fault_pages(server, settings) -> APIRouter:
    """The HTML routes of the fault record (see the module docstring)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/faults")
    async def faults_page(request: Request):
        return _list_page(dict(request.query_params), server)

    @router.post("/faults/new")
    async def add_from_form(request: Request):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        denied = write_denied(request_key(request, form), server, settings)
        if denied:
            return _list_page({}, server, error=denied[1], form_values=form, status=denied[0])
        scope = {"source": form.get("source", "").strip(), "signals": _split(form.get("signals")),
                 "geo_type": form.get("geo_type", "").strip() or None, "geo_values": _split(form.get("geo_values")),
                 "start": form.get("start") or None, "end": form.get("end") or None}
        try:
            fid = add_fault(server.engine, form.get("title"), form.get("category"),
                            [{k: v for k, v in scope.items() if v is not None}],
                            description=form.get("description", ""), links=_split(form.get("link")) or (),
                            reported_by=form.get("reported_by") or None)
        except InputError as exc:
            return _list_page({}, server, error=str(exc), form_values=form, status=400)
        LOG.info("fault added from the page", fault_id=fid)
        return RedirectResponse(f"/faults/{fid}", status_code=303)

    def _record(fault_id: str):
        try:
            return get_fault(server.engine, fault_id), None
        except FaultNotFoundError as exc:
            return None, _page("No such fault", f"<p class='error'>{esc(exc)}</p><p><a href='/faults'>all faults</a>"
                                                "</p>", 404)
        except InputError as exc:
            return None, _page("Bad fault id", f"<p class='error'>{esc(exc)}</p>", 400)

    @router.get("/faults/{fault_id}")
    async def fault_page(fault_id: str):
        record, problem = _record(fault_id)
        return problem or _fault_page(record)

    @router.get("/faults/{fault_id}/plot.svg")
    def fault_plot(fault_id: str):  # a plain def: FastAPI runs it in its thread pool (matplotlib, database)
        record, problem = _record(fault_id)
        if problem:
            return Response(_svg_message("no such fault"), status_code=problem.status_code, media_type="image/svg+xml")
        return Response(fault_plot_svg(server.engine, record), media_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})

    @router.post("/faults/{fault_id}/status")
    async def status_from_form(fault_id: str, request: Request):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        record, problem = _record(fault_id)
        if problem:
            return problem
        denied = write_denied(request_key(request, form), server, settings)
        if denied:
            return _fault_page(record, error=denied[1], status=denied[0])
        try:
            update_fault(server.engine, fault_id, status=form.get("status") or None, note=form.get("note") or None,
                         changed_by=form.get("changed_by") or None, date=dt.date.today())
        except InputError as exc:
            return _fault_page(record, error=str(exc), status=400)
        return RedirectResponse(f"/faults/{int(record['fault_id'])}", status_code=303)

    return router
