"""Lossless JSON for DSR reports: every database value comes back exactly as it was read.

Plain `json.dumps(default=str)` (or a float for a Decimal, or bytes decoded "with replace")
loses information a data subject is entitled to: a decimal's scale, a timestamp's offset,
arbitrary bytes. Here every value JSON cannot hold natively is a tagged object
`{"$type": <type>, "value": <text>}`; a JSON object that itself has a `$type` key is wrapped
as `{"$type": "object", ...}` so decoding is never ambiguous. `decode(encode(v)) == v` for
None, bool, int, float (NaN and infinities included), str, Decimal, UUID, date, time,
datetime (naive or aware), timedelta, bytes/memoryview (as bytes), lists and dicts of these.
"""

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

TYPE = "$type"


def to_jsonable(value: Any) -> Any:
    """A value of the JSON data model that `from_jsonable` turns back into `value`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {TYPE: "float", "value": repr(value)}
    if isinstance(value, Decimal):
        return {TYPE: "decimal", "value": str(value)}
    if isinstance(value, uuid.UUID):
        return {TYPE: "uuid", "value": str(value)}
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return {TYPE: "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {TYPE: "date", "value": value.isoformat()}
    if isinstance(value, dt.time):
        return {TYPE: "time", "value": value.isoformat()}
    if isinstance(value, dt.timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        return {TYPE: "timedelta", "value": str(micros)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {TYPE: "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        body = {str(k): to_jsonable(v) for k, v in value.items()}
        return {TYPE: "object", "value": body} if TYPE in body else body
    raise TypeError(f"cannot serialize a {type(value).__name__} losslessly")


_DECODERS = {
    "float": float,
    "decimal": Decimal,
    "uuid": uuid.UUID,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "timedelta": lambda v: dt.timedelta(microseconds=int(v)),
    "bytes": base64.b64decode,
}


def from_jsonable(value: Any) -> Any:
    """The inverse of `to_jsonable`."""
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if isinstance(value, dict):
        if TYPE in value:
            tag = value[TYPE]
            if tag == "object":
                return {k: from_jsonable(v) for k, v in value["value"].items()}
            return _DECODERS[tag](value["value"])
        return {k: from_jsonable(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> str:
    """`value` as lossless JSON text (UTF-8 kept, keys sorted for stable reports)."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True, indent=2)


def loads(text: str | bytes) -> Any:
    """The value `dumps` wrote."""
    return from_jsonable(json.loads(text))
