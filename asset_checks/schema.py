"""Schema check: a table's live columns and types equal its contract."""

from asset_checks.suite import Assertion, CheckContext, Verdict
from northstar_platform.layers import Table

TYPE_FAMILIES = {
    "VARCHAR": "text",
    "TEXT": "text",
    "STRING": "text",
    "BIGINT": "integer",
    "INTEGER": "integer",
    "NUMBER": "integer",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NTZ": "timestamp",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DOUBLE": "float",
    "FLOAT": "float",
}


def type_family(sql_type: str) -> str:
    """The portable family of a warehouse type name (`NUMBER(38,0)` → integer)."""
    base = sql_type.upper().split("(")[0].strip()
    return TYPE_FAMILIES.get(base, base.lower())


def schema_differences(contract: Table, live: list[tuple[str, str]]) -> list[str]:
    """Human-readable differences between a contract and the live columns (empty = equal)."""
    expected = [(c.name, type_family(c.sql_type)) for c in contract.columns]
    actual = [(name, type_family(t)) for name, t in live]
    if not actual:
        return [f"{contract.qualified} does not exist"]
    problems = []
    expected_names = {n for n, _ in expected}
    actual_types = dict(actual)
    for name, family in expected:
        if name not in actual_types:
            problems.append(f"column {name} is missing (expected {family})")
        elif actual_types[name] != family:
            problems.append(f"column {name} is {actual_types[name]}, expected {family}")
    problems.extend(
        f"column {name} is not in the contract" for name, _ in actual if name not in expected_names
    )
    return problems


def matches_contract(table: Table) -> Assertion:
    """`matches_contract`: the table has exactly the contract's columns, in type families."""

    def evaluate(context: CheckContext) -> Verdict:
        live = context.session.columns(table.schema, table.name)
        problems = schema_differences(table, live)
        return not problems, {"differences": "; ".join(problems) or "none", "columns": len(live)}

    return Assertion(
        table.asset_key,
        "matches_contract",
        f"{table.layer.value}.{table.name} has exactly the columns and types of its contract.",
        evaluate,
    )
