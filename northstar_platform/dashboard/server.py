"""Serves the review page, one run's page and `/api/<panel>.json` with the standard library.

Each request opens the warehouse read-only and closes it before answering (DESIGN §3), so the
dashboard never keeps a run from starting; requests of one server read one at a time. While a
run holds the embedded warehouse, every route answers 503 with one readable sentence.
Routes: `/` and `/api/<panel>.json` take `?days=N` (default 31) and `?end=YYYY-MM-DD`
(default today, UTC); `/runs/<run id>` shows that run's row of the run log.
"""

import datetime as dt
import json
import sys
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from northstar_platform.dashboard import page, queries, reader
from northstar_platform.errors import NorthstarError
from northstar_platform.settings import Settings

DEFAULT_DAYS = 31
"""A monthly review."""
MAX_DAYS = 366


class BadRequestError(NorthstarError):
    """A query parameter the dashboard cannot use."""


class NotFoundError(NorthstarError):
    """No such route or panel."""


def window_of(query: str, today: dt.date) -> reader.Window:
    """The window a request asks for (`days`, `end`), validated."""
    params = parse_qs(query)
    raw_days = params.get("days", [str(DEFAULT_DAYS)])[-1]
    raw_end = params.get("end", [today.isoformat()])[-1]
    try:
        days = int(raw_days)
    except ValueError:
        raise BadRequestError(f"days={raw_days!r}: expected a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise BadRequestError(f"days={days}: expected 1 to {MAX_DAYS}")
    try:
        end = dt.date.fromisoformat(raw_end)
    except ValueError:
        raise BadRequestError(f"end={raw_end!r}: expected a date YYYY-MM-DD") from None
    return reader.Window.ending(end, days)


def describe_warehouse(settings: Settings) -> str:
    """What the header says was read: the DuckDB file, or the Snowflake account/database."""
    if settings.snowflake is None:
        return str(settings.duckdb_path)
    return f"snowflake://{settings.snowflake.account}/{settings.snowflake.database}"


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def build_handler(settings: Settings) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to `settings` (one warehouse read at a time per server)."""
    reading = threading.Lock()
    warehouse = describe_warehouse(settings)

    class DashboardHandler(BaseHTTPRequestHandler):
        server_version = "northstar-dashboard"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            is_api = url.path.startswith("/api/")
            try:
                status, content_type, body = self._route(url.path, url.query)
            except reader.WarehouseBusyError as exc:
                status, content_type, body = self._error(
                    HTTPStatus.SERVICE_UNAVAILABLE, "Warehouse busy", str(exc), is_api
                )
            except BadRequestError as exc:
                status, content_type, body = self._error(
                    HTTPStatus.BAD_REQUEST, "Bad request", str(exc), is_api
                )
            except NotFoundError as exc:
                status, content_type, body = self._error(
                    HTTPStatus.NOT_FOUND, "Not found", str(exc), is_api
                )
            except NorthstarError as exc:
                status, content_type, body = self._error(
                    HTTPStatus.INTERNAL_SERVER_ERROR, "Cannot read the warehouse", str(exc), is_api
                )
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)  # for the operator's terminal only
                message = f"unexpected {type(exc).__name__}: {str(exc).strip()[:300]}"
                status, content_type, body = self._error(
                    HTTPStatus.INTERNAL_SERVER_ERROR, "Dashboard error", message, is_api
                )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if status == HTTPStatus.SERVICE_UNAVAILABLE:
                self.send_header("Retry-After", "5")
            self.end_headers()
            self.wfile.write(body)

        def _route(self, path: str, query: str) -> tuple[int, str, bytes]:
            now = dt.datetime.now(dt.UTC)
            if path == "/":
                window = window_of(query, now.date())
                with reading, reader.open_reader(settings) as session:
                    panels = {name: read(session, window) for name, read in queries.PANELS.items()}
                read_at = now.strftime("%Y-%m-%d %H:%M:%S")
                html = page.review_page(panels, window, warehouse, read_at)
                return HTTPStatus.OK, "text/html; charset=utf-8", html.encode()
            if path.startswith("/api/") and path.endswith(".json"):
                name = path.removeprefix("/api/").removesuffix(".json")
                if name not in queries.PANELS:
                    raise NotFoundError(f"no panel {name!r}; panels: {', '.join(queries.PANELS)}")
                window = window_of(query, now.date())
                with reading, reader.open_reader(settings) as session:
                    data = queries.PANELS[name](session, window)
                document = {
                    "panel": name,
                    "first_day": window.first.isoformat(),
                    "last_day": window.last.isoformat(),
                    "warehouse": warehouse,
                    "data": data,
                }
                text = json.dumps(document, default=_json_default, indent=1)
                return HTTPStatus.OK, "application/json", text.encode()
            if path.startswith("/runs/"):
                run_id = unquote(path.removeprefix("/runs/"))
                with reading, reader.open_reader(settings) as session:
                    run = queries.run_record(session, run_id)
                dagster = f"{settings.dagster_ui_url.rstrip('/')}/runs/{run_id}"
                html = page.run_page(run, run_id, dagster)
                status = HTTPStatus.OK if run else HTTPStatus.NOT_FOUND
                return status, "text/html; charset=utf-8", html.encode()
            raise NotFoundError(f"nothing at {path}; the review is at /")

        def _error(
            self, status: HTTPStatus, title: str, message: str, is_api: bool
        ) -> tuple[int, str, bytes]:
            if is_api:
                return status, "application/json", json.dumps({"error": message}).encode()
            return status, "text/html; charset=utf-8", page.error_page(title, message).encode()

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"dashboard {self.address_string()} {format % args}\n")

    return DashboardHandler


def serve(
    settings: Settings, host: str, port: int, announce: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = ThreadingHTTPServer((host, port), build_handler(settings))
    server.daemon_threads = True
    bound_host, bound_port = server.server_address[:2]
    if announce:
        announce(f"dashboard on http://{bound_host}:{bound_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
