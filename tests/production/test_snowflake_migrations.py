"""The Snowflake objects as code (`snowflake/`): versioned migrations, their rollbacks and the
repeatable revokes.

No Snowflake account is reachable here, so this proves what can be proven without one: every
statement parses in Snowflake's dialect (sqlglot), the migrations only add, each rollback drops
exactly what its migration created (in reverse order), the grants are least-privilege (read
from the statements themselves, not from the comments beside them), every schema the platform
and dbt write exists, and the statements fakesnow can run do run, twice, and leave those
schemas and stages behind. What fakesnow cannot run is pinned by a test of its own, so the
list in snowflake/README.md stays true when fakesnow changes.
"""

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from northstar_platform.layers import (
    BI_SCHEMA,
    WAREHOUSE_LAYERS,
    Layer,
    shadow_schema,
    warehouse_schemas,
)

pytestmark = pytest.mark.production

REPO = Path(__file__).resolve().parents[2]
SNOWFLAKE = REPO / "snowflake"
MIGRATIONS = sorted((SNOWFLAKE / "migrations").glob("V*__*.sql"))
ROLLBACK_DIR = SNOWFLAKE / "rollback"
REPEATABLES = sorted((SNOWFLAKE / "repeatable").glob("R__*.sql"))
DATABASE = "NORTHSTAR"
ROLES = {"NORTHSTAR_PIPELINE", "NORTHSTAR_INVESTIGATOR", "NORTHSTAR_BI"}

VARIABLES = {
    "landing_bucket": "northstar-landing-test",
    "landing_role_arn": "arn:aws:iam::000000000000:role/northstar-landing-test",
}
"""Values for the snowsql variables (`&{name}`) the operator passes with `-D name=...`."""

KINDS = (
    "use role",
    "use database",
    "create resource monitor",
    "create storage integration",
    "create warehouse",
    "create database",
    "create schema",
    "create stage",
    "create role",
    "alter warehouse",
    "grant role",
    "grant",
    "revoke role",
    "revoke",
    "drop resource monitor",
    "drop storage integration",
    "drop warehouse",
    "drop database",
    "drop schema",
    "drop stage",
    "drop role",
)
"""Every statement kind the files may hold; anything else fails `kind_of` (longest first)."""

SQLGLOT_OPAQUE = {
    "create resource monitor",
    "create role",
    "alter warehouse",
    "grant role",
    "grant",
    "revoke role",
    "revoke",
    "drop resource monitor",
}
"""Kinds sqlglot 30.22 accepts only as an opaque `Command` (some grants and revokes, e.g. on
ALL/FUTURE objects, fall back too). The grammar below parses grants and revokes itself; every
other kind must come back as sqlglot's own structured expression."""

FAKESNOW_RUNS = {"use role", "create database", "create schema", "create stage", "drop schema"}
"""Statement kinds fakesnow 0.12.1 executes (snowflake/README.md, "what was executed here")."""

FAKESNOW_REJECTS = {
    "create resource monitor",
    "create storage integration",
    "create warehouse",
    "create role",
    "alter warehouse",
    "grant role",
    "grant",
    "revoke role",
    "revoke",
    "drop resource monitor",
    "drop storage integration",
    "drop warehouse",
    "drop database",
    "drop stage",
    "drop role",
}
"""Kinds in our files that fakesnow 0.12.1 refuses (parser error or assertion), all of them."""


# ------------------------------------------------------------------------------------------
# Reading the files: statements, kinds, objects, grants
# ------------------------------------------------------------------------------------------


def split_statements(sql: str) -> list[str]:
    """The statements of a script, comments removed, in order.

    A `;` ends a statement only outside quotes and comments: single-quoted strings (with `''`
    and backslash escapes), double-quoted identifiers, `$$` blocks, `--`/`//` line comments and
    `/* */` block comments. Written here rather than taken from sqlglot, so the count can be
    checked against sqlglot's own split.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        two = sql[i : i + 2]
        char = sql[i]
        if two in ("--", "//"):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            current.append(" ")
        elif two == "/*":
            end = sql.find("*/", i + 2)
            assert end >= 0, "unterminated /* comment"
            i = end + 2
            current.append(" ")
        elif two == "$$":
            end = sql.find("$$", i + 2)
            assert end >= 0, "unterminated $$ block"
            current.append(sql[i : end + 2])
            i = end + 2
        elif char in "'\"":
            j = i + 1
            while j < n:
                if char == "'" and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == char:
                    if sql[j + 1 : j + 2] == char:
                        j += 2
                        continue
                    break
                j += 1
            assert j < n, f"unterminated {char} quote"
            current.append(sql[i : j + 1])
            i = j + 1
        elif char == ";":
            statements.append("".join(current).strip())
            current = []
            i += 1
        else:
            current.append(char)
            i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def substitute(sql: str) -> str:
    """`sql` with snowsql's `&{name}` variables replaced; an undocumented variable fails."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in VARIABLES, f"undocumented snowsql variable &{{{match.group(1)}}}"
        return VARIABLES[match.group(1)]

    return re.sub(r"&\{(\w+)\}", value, sql)


def statements_of(path: Path) -> list[str]:
    """The executable statements of one file, variables substituted."""
    return split_statements(substitute(path.read_text()))


def normalized(statement: str) -> str:
    """Lower-case, single-spaced, string literals blanked: what the grammar below reads."""
    blanked = re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", statement)
    return " ".join(blanked.split()).lower()


def kind_of(statement: str) -> str:
    """The statement's kind (one of `KINDS`); an unknown kind fails the test."""
    text = normalized(statement)
    for kind in KINDS:
        if text == kind or text.startswith(kind + " "):
            return kind
    raise AssertionError(f"statement of an unknown kind: {statement[:80]!r}")


OBJECT_KINDS = r"resource monitor|storage integration|warehouse|database|schema|stage|role"
CREATE = re.compile(rf"^create (?P<kind>{OBJECT_KINDS}) if not exists (?P<name>[\w.]+)(?: |$)")
DROP = re.compile(rf"^drop (?P<kind>{OBJECT_KINDS}) if exists (?P<name>[\w.]+)(?: |$)")


def objects(path: Path, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(kind, NAME) of every statement of `path` matching `pattern`, in order."""
    matches = [pattern.match(normalized(statement)) for statement in statements_of(path)]
    return [(m["kind"], m["name"].upper()) for m in matches if m]


def created_objects(path: Path) -> list[tuple[str, str]]:
    """(kind, NAME) of every `create ... if not exists` of a migration, in order."""
    return objects(path, CREATE)


def dropped_objects(path: Path) -> list[tuple[str, str]]:
    """(kind, NAME) of every `drop ... if exists` of a rollback, in order."""
    return objects(path, DROP)


@dataclass(frozen=True)
class Grant:
    """One privilege on one securable for one role (`on` as Snowflake's SHOW GRANTS words it,
    `ALL TABLES`/`FUTURE VIEWS` for the bulk forms, `ROLE` for a role granted to a role)."""

    privilege: str
    on: str
    name: str
    grantee: str


GRANT = re.compile(
    r"^(?P<verb>grant|revoke) (?P<privileges>.+?) on "
    r"(?P<on>account|(?:all|future) (?:tables|views|stages) in schema|database|warehouse|schema"
    r"|stage|integration)(?: (?P<name>[\w.]+))? (?:to|from) role (?P<grantee>\w+)$"
)
ROLE_GRANT = re.compile(r"^(?P<verb>grant|revoke) role (?P<role>\w+) (?:to|from) role (?P<to>\w+)$")


def parse_grant(statement: str) -> tuple[str, list[Grant]]:
    """(`grant` or `revoke`, one `Grant` per privilege); a shape outside the grammar fails."""
    text = normalized(statement)
    if match := ROLE_GRANT.match(text):
        return match["verb"], [Grant("ROLE", "ROLE", match["role"].upper(), match["to"].upper())]
    match = GRANT.match(text)
    assert match, f"grant outside the grammar: {statement!r}"
    on = match["on"].upper().removesuffix(" IN SCHEMA")
    privileges = [" ".join(p.split()).upper() for p in match["privileges"].split(",")]
    name = (match["name"] or "").upper()
    return match["verb"], [Grant(p, on, name, match["grantee"].upper()) for p in privileges]


def grants_of(paths: list[Path], verb: str = "grant") -> list[Grant]:
    """Every `verb` (grant or revoke) of the files, one entry per privilege."""
    found: list[Grant] = []
    for path in paths:
        for statement in statements_of(path):
            if kind_of(statement) in ("grant", "grant role", "revoke", "revoke role"):
                statement_verb, grants = parse_grant(statement)
                if statement_verb == verb:
                    found.extend(grants)
    return found


def rollback_of(migration: Path) -> Path:
    """`rollback/V00N__rollback.sql` of `migrations/V00N__<name>.sql`."""
    return ROLLBACK_DIR / f"{migration.name.split('__')[0]}__rollback.sql"


def schema_of_grant(grant: Grant) -> str | None:
    """The schema a grant reaches into (`NORTHSTAR.X` → `X`), or None above schema level."""
    if grant.on == "SCHEMA" or grant.on.startswith(("ALL ", "FUTURE ")):
        return grant.name.split(".")[1]
    if grant.on == "STAGE":
        return grant.name.split(".")[1]
    return None


def layer_schemas() -> list[str]:
    """Every layer's schema and BI, with their shadow twins, upper-cased (from layers.py)."""
    production = [layer.value for layer in WAREHOUSE_LAYERS] + [BI_SCHEMA]
    return [s.upper() for s in production + [shadow_schema(s) for s in production]]


ALL_FILES = [*MIGRATIONS, *ROLLBACK_DIR.glob("*.sql"), *REPEATABLES]


# ------------------------------------------------------------------------------------------
# The files themselves
# ------------------------------------------------------------------------------------------


def test_the_splitter_ends_statements_only_outside_strings_and_comments() -> None:
    sql = (
        "-- a; header\ncreate stage if not exists A.B.C comment = 'x; ''y''; z';\n"
        "/* block; */ grant usage on database D to role R; // tail;\n"
        'create schema if not exists "A;B" $$ c;d $$'
    )
    assert split_statements(sql) == [
        "create stage if not exists A.B.C comment = 'x; ''y''; z'",
        "grant usage on database D to role R",
        'create schema if not exists "A;B" $$ c;d $$',
    ]


def test_every_migration_has_a_rollback_and_nothing_else_lies_around() -> None:
    assert [m.name for m in MIGRATIONS] == ["V001__platform.sql", "V002__access.sql"]
    assert sorted(p.name for p in ROLLBACK_DIR.glob("*.sql")) == [
        rollback_of(m).name for m in MIGRATIONS
    ]
    assert [p.name for p in REPEATABLES] == ["R__investigator_remediation_revokes.sql"]
    assert sorted(p.name for p in SNOWFLAKE.rglob("*.sql")) == sorted(p.name for p in ALL_FILES)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_statement_parses_in_snowflakes_dialect(path: Path) -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # the Command fallback warns
    statements = statements_of(path)
    whole = [e for e in sqlglot.parse(substitute(path.read_text()), read="snowflake") if e]
    assert len(whole) == len(statements), "sqlglot and the splitter split the file differently"
    for statement in statements:
        kind = kind_of(statement)
        parsed = sqlglot.parse_one(statement, read="snowflake", error_level=ErrorLevel.RAISE)
        if isinstance(parsed, exp.Command):
            assert kind in SQLGLOT_OPAQUE, f"sqlglot could not structure {statement[:80]!r}"
            continue
        verb, _, noun = kind.partition(" ")
        expected = {"use": exp.Use, "create": exp.Create, "drop": exp.Drop}.get(verb)
        expected = expected or {"grant": exp.Grant, "revoke": exp.Revoke}[verb]
        assert isinstance(parsed, expected), (kind, type(parsed).__name__)
        if noun and verb != "use":
            assert str(parsed.args.get("kind", "")).lower() == noun, (kind, parsed.args)


def test_names_below_the_database_are_fully_qualified() -> None:
    """Schemas and stages name their database (and schema), so no statement depends on the
    session's `use database`, which snowsql users may have set differently."""
    for path in ALL_FILES:
        for statement in statements_of(path):
            text = normalized(statement)
            for match in re.finditer(
                r"\b(schema|stage)(?: if (?:not )?exists)? (?!on )([\w.]+)", text
            ):
                dots = 1 if match[1] == "schema" else 2
                assert match[2].upper().startswith(f"{DATABASE}."), statement
                assert match[2].count(".") == dots, statement


# ------------------------------------------------------------------------------------------
# Additive migrations, complete rollbacks
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda p: p.name)
def test_migrations_only_add(migration: Path) -> None:
    created = {name for _, name in created_objects(migration)}
    for statement in statements_of(migration):
        text = normalized(statement)
        assert not text.startswith(("drop ", "revoke ", "undrop ", "truncate ", "delete ")), text
        assert "create or replace" not in text, text
        assert not re.search(r"\brename\b|\bswap with\b", text), text
        assert not re.search(r"\bownership\b", text), text
        if text.startswith("create "):
            assert CREATE.match(text), f"not `create <object> if not exists`: {statement!r}"
        if text.startswith("alter "):
            target = re.match(r"^alter \w+ (?:if exists )?([\w.]+) set ", text)
            assert target, f"an alter other than `set`: {statement!r}"
            assert target[1].upper() in created, f"alters what it did not create: {statement!r}"


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda p: p.name)
def test_the_rollback_drops_exactly_what_the_migration_created_in_reverse(
    migration: Path,
) -> None:
    created = created_objects(migration)
    assert created, "a migration that creates nothing"
    assert len(set(created)) == len(created), "an object is created twice"
    assert dropped_objects(rollback_of(migration)) == created[::-1]


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda p: p.name)
def test_the_rollback_leaves_no_grant_behind(migration: Path) -> None:
    """Dropping a role takes every grant to it along; a grant to a role the rollback does not
    drop (SYSADMIN) is revoked explicitly, and the rollback revokes nothing else."""
    rollback = rollback_of(migration)
    dropped = {name for _, name in dropped_objects(rollback)}
    to_outlivers = {g for g in grants_of([migration]) if g.grantee not in dropped}
    assert to_outlivers
    assert set(grants_of([rollback], verb="revoke")) == to_outlivers


def test_the_repeatable_file_only_revokes_remediation_from_the_investigator() -> None:
    (path,) = REPEATABLES
    kinds = {kind_of(s) for s in statements_of(path)}
    assert kinds == {"use role", "revoke"}
    revoked = grants_of([path], verb="revoke")
    assert {g.grantee for g in revoked} == {"NORTHSTAR_INVESTIGATOR"}
    assert {schema_of_grant(g) for g in revoked} == {"REMEDIATION", "REMEDIATION_SHADOW"}
    for schema in ("REMEDIATION", "REMEDIATION_SHADOW"):
        assert {g.on for g in revoked if schema_of_grant(g) == schema} == {
            "SCHEMA",
            "ALL TABLES",
            "ALL VIEWS",
            "ALL STAGES",
            "FUTURE TABLES",
            "FUTURE VIEWS",
        }


# ------------------------------------------------------------------------------------------
# Least privilege, from the parsed grants
# ------------------------------------------------------------------------------------------

WRITES = {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "WRITE", "MODIFY", "OPERATE", "OWNERSHIP"}


def grants_to(role: str) -> set[Grant]:
    return {g for g in grants_of(MIGRATIONS) if g.grantee == role}


def test_bi_reads_marts_and_bi_and_nothing_else() -> None:
    schemas = [f"{DATABASE}.{s.upper()}" for s in (Layer.MARTS.value, BI_SCHEMA)]
    expected = {
        Grant("USAGE", "DATABASE", DATABASE, "NORTHSTAR_BI"),
        Grant("USAGE", "WAREHOUSE", "NORTHSTAR_BI_WH", "NORTHSTAR_BI"),
        *(Grant("USAGE", "SCHEMA", s, "NORTHSTAR_BI") for s in schemas),
        *(
            Grant("SELECT", f"{when} {what}", s, "NORTHSTAR_BI")
            for s in schemas
            for when in ("ALL", "FUTURE")
            for what in ("TABLES", "VIEWS")
        ),
    }
    assert grants_to("NORTHSTAR_BI") == expected


def test_the_investigator_reads_every_layer_but_remediation_and_writes_nothing() -> None:
    grants = grants_to("NORTHSTAR_INVESTIGATOR")
    assert {g.privilege for g in grants} == {"USAGE", "SELECT"}
    assert not [g for g in grants if g.privilege.startswith("CREATE") or g.privilege in WRITES]
    assert not [g for g in grants if g.on in ("STAGE", "INTEGRATION", "ACCOUNT")]
    remediation = {Layer.REMEDIATION.value.upper(), shadow_schema(Layer.REMEDIATION).upper()}
    assert not [g for g in grants if schema_of_grant(g) in remediation]
    readable = {s for s in layer_schemas() if s not in remediation}
    assert {schema_of_grant(g) for g in grants} - {None} == readable
    for schema in readable:
        name = f"{DATABASE}.{schema}"
        assert Grant("USAGE", "SCHEMA", name, "NORTHSTAR_INVESTIGATOR") in grants
        for on in ("ALL TABLES", "FUTURE TABLES", "ALL VIEWS", "FUTURE VIEWS"):
            assert Grant("SELECT", on, name, "NORTHSTAR_INVESTIGATOR") in grants


def test_the_pipeline_builds_every_layer_without_account_or_ownership_grants() -> None:
    grants = grants_to("NORTHSTAR_PIPELINE")
    assert not [g for g in grants if g.on == "ACCOUNT" or g.privilege == "OWNERSHIP"]
    assert {g.privilege for g in grants if g.on == "DATABASE"} == {"USAGE", "CREATE SCHEMA"}
    for schema in layer_schemas():
        name = f"{DATABASE}.{schema}"
        for privilege in ("USAGE", "CREATE TABLE", "CREATE VIEW"):
            assert Grant(privilege, "SCHEMA", name, "NORTHSTAR_PIPELINE") in grants
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
            assert Grant(privilege, "FUTURE TABLES", name, "NORTHSTAR_PIPELINE") in grants
    export = f"{DATABASE}.REMEDIATION.PREFERENCE_EXPORT"
    assert {g.privilege for g in grants if g.name == export} == {"READ", "WRITE"}


def test_no_role_is_granted_all_and_grants_go_only_to_our_roles_and_sysadmin() -> None:
    grants = grants_of(MIGRATIONS)
    assert not [g for g in grants if g.privilege in ("ALL", "ALL PRIVILEGES")]
    assert {g.grantee for g in grants} == {*ROLES, "SYSADMIN"}
    to_sysadmin = {g for g in grants if g.grantee == "SYSADMIN"}
    assert to_sysadmin == {
        *(Grant("ROLE", "ROLE", role, "SYSADMIN") for role in ROLES),
        Grant("USAGE", "INTEGRATION", "NORTHSTAR_S3_LANDING", "SYSADMIN"),
    }
    created = {name for m in MIGRATIONS for _, name in created_objects(m)}
    assert {g.name for g in grants if g.on in ("DATABASE", "WAREHOUSE", "STAGE")} <= created


# ------------------------------------------------------------------------------------------
# Every schema the platform and dbt write exists
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dbt_schemas(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Schemas of every dbt model, seed, snapshot and source, production and shadow builds.

    Production: dbt/target/manifest.json (`dbt parse` into a scratch target when missing);
    shadow: a parse with `schema_suffix=_shadow` into a scratch target (other runs share
    dbt/target). Tests are left out: none stores failures, so none creates a schema.
    """
    work = tmp_path_factory.mktemp("dbt")
    dbt = Path(sys.executable).parent / "dbt"
    runs: dict[str, Any] = {}
    manifests = {"production": REPO / "dbt" / "target" / "manifest.json"}
    wanted = {"shadow": {"schema_suffix": "_shadow"}}
    if not manifests["production"].exists():
        wanted["production"] = {}
    for name, variables in wanted.items():
        manifests[name] = work / name / "manifest.json"
        runs[name] = subprocess.Popen(
            [
                str(dbt),
                "parse",
                "--project-dir",
                "dbt",
                "--profiles-dir",
                "dbt",
                "--quiet",
                "--vars",
                json.dumps(variables),
                "--target-path",
                str(work / name),
                "--log-path",
                str(work / f"{name}-logs"),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for name, run in runs.items():
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, f"dbt parse ({name}) failed:\n{output}"
    schemas: set[str] = set()
    for path in manifests.values():
        manifest = json.loads(path.read_text())
        schemas |= {
            node["schema"]
            for node in manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed", "snapshot")
        }
        schemas |= {source["schema"] for source in manifest["sources"].values()}
    return schemas


def test_every_schema_the_platform_writes_exists_and_no_other(
    dbt_schemas: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NORTHSTAR_SHADOW", raising=False)
    production = set(warehouse_schemas())
    monkeypatch.setenv("NORTHSTAR_SHADOW", "true")
    shadow = set(warehouse_schemas())
    assert "bi_shadow" in dbt_schemas and "ops_shadow" in shadow  # both sources were read
    written = {s.upper() for s in production | shadow | dbt_schemas}
    created = {
        name.removeprefix(f"{DATABASE}.")
        for migration in MIGRATIONS
        for kind, name in created_objects(migration)
        if kind == "schema"
    }
    assert created == written


# ------------------------------------------------------------------------------------------
# fakesnow: what it can run
# ------------------------------------------------------------------------------------------


@pytest.fixture
def fake_snowflake(tmp_path: Path) -> Iterator[Any]:
    """A cursor of fakesnow's in-process Snowflake (a DuckDB file under `tmp_path`)."""
    import fakesnow
    import snowflake.connector

    (tmp_path / "fakesnow").mkdir()
    with fakesnow.patch(db_path=str(tmp_path / "fakesnow")):
        connection = snowflake.connector.connect(account="emulated", user="u", password="p")
        try:
            yield connection.cursor()
        finally:
            connection.close()


def run_supported(cursor: Any, paths: list[Path]) -> set[str]:
    """Execute every statement of `paths` whose kind fakesnow runs; the kinds skipped."""
    skipped = set()
    for path in paths:
        for statement in statements_of(path):
            if kind_of(statement) in FAKESNOW_RUNS:
                cursor.execute(statement)
            else:
                skipped.add(kind_of(statement))
    return skipped


def northstar_schemas(cursor: Any) -> set[str]:
    cursor.execute(
        "select schema_name from information_schema.schemata where catalog_name = 'NORTHSTAR'"
    )
    return {row[0] for row in cursor.fetchall()} - {"INFORMATION_SCHEMA"}


def test_fakesnow_creates_the_schemas_and_stages_twice_over_and_the_rollback_drops_them(
    fake_snowflake: Any,
) -> None:
    cursor = fake_snowflake
    skipped = run_supported(cursor, MIGRATIONS)
    assert run_supported(cursor, MIGRATIONS) == skipped  # idempotent: a second run passes
    assert skipped == FAKESNOW_REJECTS & {kind_of(s) for m in MIGRATIONS for s in statements_of(m)}

    expected = {
        name.removeprefix(f"{DATABASE}.")
        for m in MIGRATIONS
        for kind, name in created_objects(m)
        if kind == "schema"
    }
    assert len(expected) == 16
    assert northstar_schemas(cursor) == expected

    cursor.execute("show stages in database NORTHSTAR")
    columns = [d[0].lower() for d in cursor.description]
    stages = {
        (row["schema_name"], row["name"], row["type"], row["url"])
        for row in (dict(zip(columns, r, strict=True)) for r in cursor.fetchall())
    }
    bucket = VARIABLES["landing_bucket"]
    assert stages == {
        ("RAW", "LANDING", "EXTERNAL", f"s3://{bucket}/northstar/"),
        ("REMEDIATION", "PREFERENCE_EXPORT", "INTERNAL", ""),
    }

    rollbacks = [rollback_of(m) for m in reversed(MIGRATIONS)]
    run_supported(cursor, rollbacks)
    assert northstar_schemas(cursor) == set()


@pytest.mark.parametrize("kind", sorted(FAKESNOW_REJECTS))
def test_fakesnow_still_rejects_what_the_readme_says_was_not_executed(
    kind: str, fake_snowflake: Any
) -> None:
    """If fakesnow learns a kind, move it to FAKESNOW_RUNS and snowflake/README.md."""
    from snowflake.connector.errors import ProgrammingError

    statement = next(s for p in ALL_FILES for s in statements_of(p) if kind_of(s) == kind)
    fake_snowflake.execute("create database if not exists NORTHSTAR")
    with pytest.raises((ProgrammingError, AssertionError)):
        fake_snowflake.execute(statement)
