"""The lines of a landed text file, exactly as delivered: one row per line.

Lines end at `\\n`; a missing final newline keeps the last line, a carriage return stays part
of its line. A line that is not valid UTF-8 keeps its bytes readable (backslash escapes) and is
flagged, so it can be quarantined instead of failing the file.
"""

import codecs

import pyarrow as pa
import pyarrow.compute as pc


def split_lines(data: bytes) -> list[tuple[str, bool]]:
    """Each line of a file as (text, is valid UTF-8); a missing final newline keeps the line."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    decoded = []
    for line in lines:
        try:
            decoded.append((line.decode("utf-8"), True))
        except UnicodeDecodeError:
            decoded.append((line.decode("utf-8", errors="backslashreplace"), False))
    return decoded


def count_lines(data: bytes) -> int:
    """How many lines `split_lines` finds, without building them."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def lines_table(data: bytes) -> pa.Table:
    """`split_lines` as Arrow columns `record` (text) and `utf8_valid`.

    Arrow splits the file without a Python object per line (~4x faster on a 28 MB file); only
    the lines holding invalid UTF-8, found by decoding from one error to the next, are decoded
    one by one.
    """
    if not data:
        return pa.table(
            {"record": pa.array([], pa.large_string()), "utf8_valid": pa.array([], pa.bool_())}
        )
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    lines = pc.split_pattern(whole, "\n").flatten()
    if data.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)
    bad = _invalid_lines(data)
    if not bad:
        records = lines.view(pa.large_string())  # valid: decoded without an error
        return pa.table({"record": records, "utf8_valid": pa.repeat(True, len(records))})
    valid = [True] * len(lines)
    pieces, done = [], 0
    for index in bad:
        pieces.append(lines.slice(done, index - done).view(pa.large_string()))
        text = lines[index].as_py().decode("utf-8", errors="backslashreplace")
        pieces.append(pa.array([text], pa.large_string()))
        valid[index], done = False, index + 1
    pieces.append(lines.slice(done).view(pa.large_string()))  # valid: no error left in it
    return pa.table({"record": pa.concat_arrays(pieces), "utf8_valid": pa.array(valid)})


def _invalid_lines(data: bytes) -> list[int]:
    """Indexes of the lines that are not valid UTF-8, in order."""
    if data.isascii():  # ~20x faster than decoding, and the usual case
        return []
    bad: list[int] = []
    position, line, view = 0, 0, memoryview(data)
    while position < len(data):
        try:
            codecs.utf_8_decode(view[position:], "strict", True)
            break
        except UnicodeDecodeError as exc:
            at = position + exc.start
            start = data.rfind(b"\n", position, at) + 1 or position
            line += data.count(b"\n", position, start)
            bad.append(line)
            end = data.find(b"\n", at)
            position, line = (len(data), line) if end < 0 else (end + 1, line + 1)
    return bad
