"""Words for decoded JSON values, shared by the JSON-lines sources (Stripe, privacy)."""

from typing import Any


def json_kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for reasons (`array`, not Python's `list`)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names = {dict: "object", list: "array", str: "string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate (JSON `\\ud800`), which no column can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
