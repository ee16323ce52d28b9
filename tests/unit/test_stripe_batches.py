"""The batch paths of the Stripe slice give exactly the per-line answers.

`lines_table` splits a landed file with Arrow; it is checked against the definition it must
equal, `split_lines`. Expected values come from that definition, never from the code under
test.
"""

import pytest

from northstar_platform.lib.landed_lines import count_lines, lines_table, split_lines

FILES = [
    b"",
    b"\n",
    b"a",
    b"a\n",
    b"a\nb",
    b"a\n\n\nb\n\n",
    b"a\r\nb\r\n",
    b'{"note": "caf\xe9"}\n{"note": "caf\xc3\xa9"}\n\xff\xfe\n',
    b"ok\nbad \xe9 line\nok again\nlast without newline \xff",
    "é\n".encode() * 3,
    b"a\n\xe9\n\xe9\n\n\xe9b\nc\xc3",
]


@pytest.mark.parametrize("data", FILES)
def test_lines_table_and_count_lines_agree_with_split_lines(data: bytes):
    table = lines_table(data)
    assert list(zip(table["record"].to_pylist(), table["utf8_valid"].to_pylist(), strict=True)) == (
        split_lines(data)
    )
    assert count_lines(data) == len(split_lines(data))
