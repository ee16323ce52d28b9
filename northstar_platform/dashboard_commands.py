"""`northstar dashboard`: the operations review page, served locally from the warehouse the
settings point at (see northstar_platform/dashboard)."""

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8050, show_default=True, help="Port (0 picks a free one).")
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int) -> None:
    """Serve the monthly review page: rows per asset, check pass rates, mismatch trends,
    quarantine rates and alerts (`?days=N`, default 31)."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.dashboard.server import serve
        from northstar_platform.errors import NorthstarError
        from northstar_platform.settings import get_settings

        settings = get_settings()
        try:
            serve(settings, host, port, announce=lambda line: cli.console.print(line))
        except OSError as exc:
            raise NorthstarError(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    cli.run_safely(go, ctx.obj["debug"])
