"""User-facing errors: one line that names what is wrong and how to fix it."""


class NorthstarError(Exception):
    """An error the `northstar` command prints as one clear line, never as a traceback."""


class SettingsError(NorthstarError):
    """A missing, unknown or invalid `NORTHSTAR_*` setting."""


class SourceUnavailableError(NorthstarError):
    """The source PostgreSQL cannot be reached or queried."""


class SourceQueryError(NorthstarError):
    """A source query failed: a missing table or column, a timeout, a permission."""


class SourceConnectionLostError(SourceUnavailableError):
    """The source dropped the connection mid-statement: worth a retry."""


class LandingZoneError(NorthstarError):
    """The landing zone (folder or bucket) cannot be read or written."""


class InputFileError(NorthstarError):
    """A landing file that cannot be parsed as its contract says."""
