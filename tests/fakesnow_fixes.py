"""A repair to fakesnow 0.12.1's server mode, applied wherever a test starts the server.

The server encodes a timestamp column as Snowflake's (epoch, fraction) struct without the
column's null mask, so the connector reads every NULL timestamp back as 1970-01-01 (STACK.md).
Python steps that compare or subtract timestamps then compute on the epoch instead of NULL;
with the mask put back the emulator answers NULL, as Snowflake does.
"""

import fakesnow.arrow
import pyarrow as pa


def _timestamps_with_nulls(original):  # type: ignore[no-untyped-def]
    def encode(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        if ts.null_count == 0:
            return original(ts)
        zero = pa.scalar(0, pa.int64()).cast(ts.type)
        struct = original(ts.fill_null(zero))
        return pa.StructArray.from_arrays(
            struct.flatten(), fields=list(struct.type), mask=ts.is_null()
        )

    encode.northstar_fix = True  # type: ignore[attr-defined]
    return encode


def apply() -> None:
    """Patch fakesnow in this process (idempotent); its server thread then sends NULLs."""
    if not getattr(fakesnow.arrow.timestamp_to_sf_struct, "northstar_fix", False):
        fakesnow.arrow.timestamp_to_sf_struct = _timestamps_with_nulls(
            fakesnow.arrow.timestamp_to_sf_struct
        )
