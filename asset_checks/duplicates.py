"""Duplicate check: no key appears twice in a partition."""

from asset_checks.suite import Assertion, CheckContext, Verdict
from northstar_platform.layers import Table, quote

SAMPLE = 20


def no_duplicates(
    table: Table, *, keys: list[str], name: str, partitioned: bool = True
) -> Assertion:
    """Fails when any `keys` value repeats within the partition (or the table)."""
    key_sql = ", ".join(quote(k) for k in keys)
    where = "where partition_key = ?" if partitioned else ""

    def evaluate(context: CheckContext) -> Verdict:
        # Named at run time: the schema depends on the environment (shadow mode).
        sql = (
            f"select {key_sql}, count(*) as copies from {table.qualified} {where} "  # noqa: S608
            f"group by {key_sql} having count(*) > 1 order by copies desc, {key_sql}"
        )
        params = (context.partition_key,) if partitioned else ()
        repeated = context.session.fetchall(sql, params)
        return not repeated, {
            "duplicated_keys": len(repeated),
            "sample": [" | ".join(str(v) for v in row[:-1]) for row in repeated[:SAMPLE]],
        }

    return Assertion(
        table.asset_key,
        name,
        f"No ({', '.join(keys)}) appears twice in {table.layer.value}.{table.name}.",
        evaluate,
    )
