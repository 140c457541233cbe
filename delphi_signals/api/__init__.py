"""An Epidata-compatible HTTP API over the epidata database (FastAPI, served by uvicorn).

``delphi-signals serve --db URL [--host 127.0.0.1] [--port 10080] [--workers N]`` starts it; it is ready when
``GET /epidata/covidcast_meta/`` answers. Point the official clients at it::

    from delphi_epidata import Epidata
    Epidata.BASE_URL = "http://127.0.0.1:10080/epidata"
"""

from __future__ import annotations

import os

from .app import DB_ENV, Settings, app_from_env, create_app

__all__ = ["Settings", "app_from_env", "create_app", "serve"]


def serve(db_url: str, *, host: str = "127.0.0.1", port: int = 10080, workers: int = 1) -> None:
    """Serve the API with uvicorn (``workers`` processes) until interrupted."""
    import uvicorn

    os.environ[DB_ENV] = db_url
    uvicorn.run("delphi_signals.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)
