"""A read-only look at the source PostgreSQL for `northstar explain`.

`explain` runs beside the pipeline, often during an incident: its session is read-only
(`default_transaction_read_only`), bounded by the source's statement timeout, and in UTC like
the export's, so what it reads compares with what was exported.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2

from northstar_platform.errors import SourceQueryError, SourceUnavailableError
from northstar_platform.explain.subject import SourceFetch
from northstar_platform.resources.source_db import describe_dsn
from northstar_platform.settings import Settings


@contextmanager
def read_only_source(settings: Settings) -> Iterator[SourceFetch]:
    """A `fetch(query, params)` on one read-only source connection, closed afterwards."""
    try:
        connection = psycopg2.connect(
            settings.source_dsn,
            connect_timeout=settings.source_connect_timeout_s,
            options=f"-c statement_timeout={settings.source_statement_timeout_s * 1000} "
            "-c default_transaction_read_only=on -c TimeZone=UTC",
            application_name="northstar-explain",
        )
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise SourceUnavailableError(
            f"source PostgreSQL {describe_dsn(settings.source_dsn)} is unreachable ({first})"
        ) from None

    def fetch(query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with connection.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg2.Error as exc:
            connection.rollback()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceQueryError(
                f"source query failed on {describe_dsn(settings.source_dsn)}: {first}"
            ) from None

    try:
        yield fetch
    finally:
        connection.close()
