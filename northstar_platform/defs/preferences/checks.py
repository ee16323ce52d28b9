"""Privacy checks: every delivered line is accounted for, the 1% quarantine gate, the volume."""

from northstar_platform.defs.line_source_checks import build_line_source_checks
from northstar_platform.defs.preferences.assets import landed_privacy_files
from northstar_platform.layers import QUARANTINE_PRIVACY, RAW_PRIVACY_EVENTS, STG_PRIVACY_EVENTS

PRIVACY_CHECKS = build_line_source_checks(
    source="privacy",
    raw=RAW_PRIVACY_EVENTS,
    staged=STG_PRIVACY_EVENTS,
    held=QUARANTINE_PRIVACY,
    key="source_record_id",
    files=landed_privacy_files,
    copies_label="copies",
)
"""The privacy slice's checks, in two suites: after the raw load and after staging."""
