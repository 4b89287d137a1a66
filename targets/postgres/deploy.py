"""`flowc deploy`: create a program's objects on a server over the Postgres wire (RisingWave or
PostgreSQL), keep a catalog of what was deployed, and change only what changed.

The machinery is the same for both targets; only the objects differ:
- risingwave: the DDL of `compile_risingwave` (sources, tables, materialized views, sinks);
- postgres: the DDL of the postgres target (a table per source holding its rows, views for the
  on-time and late rows, tables, views). PostgreSQL has no sinks: a sunk view is queried instead.

Each deployment lives in its own schema (`--schema`, default the deployment's name made an
identifier), so two programs never share objects by accident: the plan starts with `CREATE SCHEMA IF
NOT EXISTS` and `SET search_path TO` that schema, and every statement after it names objects
unqualified. Two deployments given the same schema (say `--schema public`) still never share an
object: a create that would take another deployment's object is refused, naming the owner.

The catalog lives on the server, in schema `flowc_catalog`:
- `objects`: one row per deployed object (deployment, name, kind, digest of its statement, the
  statement with secrets masked, the names it depends on, its position in creation order);
- `schemas`: one row per deployment, the schema it lives in (a deployment made before schemas
  existed has none and lives in `public`);
- `deployments`: one row per deploy that changed something (program hash, statements, time).
A deploy compares the program's objects with `objects` (by statement digest): an unchanged program
does nothing; a changed or removed object is dropped together with everything that depends on it
(dependents first), and the changed and dependent objects are created again in dependency order.
The plan says all of this before anything runs (`--dry-run` stops there). Each step and its catalog
update run together (in one transaction on PostgreSQL, whose DDL is transactional; RisingWave DDL
is not, so there the catalog is written right after the statement succeeds). A failing statement
stops the deploy with the statement, the server's message, and the steps already applied; a later
deploy continues from there, since the catalog holds exactly what exists.

Secrets (the DSN's password, PGPASSWORD, env() values of secret-looking connector options) never
appear in plans, progress lines, errors, or the catalog: `Secrets.redact` masks them everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler.diagnostics import Code, Diagnostic, FlowError
from flowc.targets.base import deploy_name

from .connect import Secrets, connect, display_dsn, first_line, resolve_dsn
from .dialect import quote_ident

DEPLOY_TARGETS = ("risingwave", "postgres")
DSN_ENV = {"postgres": "FLOWC_PG_DSN", "risingwave": "FLOWC_RISINGWAVE_DSN"}
CATALOG = "flowc_catalog"
_SECRET_KEY = re.compile(r"pass|secret|token|credential|private|key", re.IGNORECASE)


@dataclass(frozen=True)
class DeployObject:
    """One object as the program wants it. kind is the SQL kind used to drop it ("table", "view",
    "source", "materialized view", "sink")."""

    name: str
    kind: str
    statement: str
    depends_on: tuple[str, ...] = ()
    note: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self.statement}".encode()).hexdigest()


@dataclass(frozen=True)
class Deployed:
    """One object as the catalog records it."""

    name: str
    kind: str
    digest: str
    depends_on: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Step:
    action: str  # create | drop
    name: str
    kind: str
    sql: str
    reason: str
    obj: DeployObject | None = None  # what a create step creates


@dataclass
class DeployPlan:
    deployment: str
    target: str
    program_hash: str
    steps: list[Step] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects: list[DeployObject] = field(default_factory=list)
    schema: str | None = None  # where the objects live; None: the connection's search_path

    @property
    def preamble(self) -> list[str]:
        """The statements that put the session in the deployment's schema, run before any step."""
        if self.schema is None:
            return []
        return [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}",
                f"SET search_path TO {quote_ident(self.schema)}"]

    @property
    def empty(self) -> bool:
        return not self.steps

    @property
    def data_loss(self) -> list[Step]:
        """The drops that lose rows nothing can recompute: tables (a source's loaded rows on PostgreSQL,
        a RisingWave table's ingested rows); views and materialized views are derived again."""
        return [s for s in self.steps if s.action == "drop" and s.kind == "table"]

    def render(self, secrets: Secrets | None = None) -> str:
        secrets = secrets or Secrets()
        where = f" in schema {self.schema}" if self.schema else ""
        head = f"-- flowc deploy plan: '{self.deployment}' on {self.target}{where}, " \
               f"program sha256:{self.program_hash[:16]}"
        creates = sum(1 for s in self.steps if s.action == "create")
        drops = len(self.steps) - creates
        lines = [head]
        if self.empty:
            lines.append(f"-- nothing to do: all {len(self.unchanged)} objects are up to date")
        else:
            lines.append(f"-- {drops} to drop, {creates} to create, {len(self.unchanged)} unchanged")
        lines += [f"-- note: {n}" for n in self.notes]
        for s in self.data_loss:
            lines.append(f"-- DATA LOSS: dropping table {s.name} ({s.reason}) deletes the rows loaded into it; "
                         "deploy applies this plan only with --allow-data-loss")
        if not self.empty and self.preamble:
            lines.append("")
            lines += [p + ";" for p in self.preamble]
        for i, s in enumerate(self.steps, 1):
            lines.append("")
            lines.append(f"-- [{i}/{len(self.steps)}] {s.action} {s.kind} {s.name}: {s.reason}")
            lines.append(s.sql + ";")
        return secrets.redact("\n".join(lines)) + "\n"


# ---------------------------------------------------------------- the objects of a program


def deploy_objects(program: ir.Program, target: str) -> tuple[list[DeployObject], list[str]]:
    """The program's objects in dependency order, and notes for the plan."""
    if target == "postgres":
        return _postgres_objects(program)
    if target == "risingwave":
        return _risingwave_objects(program)
    raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"cannot deploy to target '{target}'", None,
                               f"deploy targets: {', '.join(DEPLOY_TARGETS)}"))


def _postgres_objects(program: ir.Program) -> tuple[list[DeployObject], list[str]]:
    from .sqlgen import compile_postgres, raw_table_name

    plan = compile_postgres(program, check_connectors=False)
    objects = [DeployObject(o.name, o.kind, o.sql, o.depends_on, o.note) for o in plan.objects]
    notes = [f"source '{s.name}' is the table {raw_table_name(s.name)}: insert its rows there in arrival "
             f"order; view {s.name} shows the on-time rows" for s in program.sources]
    notes += [f"table '{t.name}' is the table {raw_table_name(t.name)}: insert its rows there, a repeated key "
              f"as a new version; view {t.name} shows the last version of each key" for t in program.tables]
    notes += [f"PostgreSQL has no sinks: the sink of '{k.view}' into {k.connector.kind}(...) is not deployed; "
              f"query view {k.view} instead" for k in program.sinks]
    return objects, notes


def _risingwave_objects(program: ir.Program) -> tuple[list[DeployObject], list[str]]:
    from flowc.targets.risingwave import compile_risingwave_with_warnings, to_sql
    from sqlglot import exp

    stmts, warnings = compile_risingwave_with_warnings(program)
    deps = {v.name: ir.scan_names(v.plan) for v in program.views}
    objects = []
    sink_views = iter(k.view for k in program.sinks)
    for stmt in stmts:
        assert isinstance(stmt, exp.Create)
        target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
        name = target.name
        kind = str(stmt.args.get("kind") or "").lower()
        props = stmt.args.get("properties")
        if kind == "view" and props is not None and any(isinstance(p, exp.MaterializedProperty)
                                                        for p in props.expressions):
            kind = "materialized view"
        depends = deps.get(name, ()) if kind == "materialized view" else ()
        if kind == "sink":
            depends = (next(sink_views),)
        objects.append(DeployObject(name, kind, to_sql(stmt), depends))
    return objects, [w.message for w in warnings]


def program_hash(target: str, objects: list[DeployObject]) -> str:
    h = hashlib.sha256(target.encode())
    for o in objects:
        h.update(f"\0{o.name}\0{o.digest}".encode())
    return h.hexdigest()


def program_secrets(program: ir.Program) -> Secrets:
    """env() values of connector options that look secret: they may be spliced into DDL."""
    values = []
    connectors = [s.connector for s in program.sources] + [t.connector for t in program.tables] + \
                 [k.connector for k in program.sinks]
    connectors += [s.on_late for s in program.sources if isinstance(s.on_late, ir.Connector)]
    for c in connectors:
        for key, value in c.args:
            if isinstance(value, ir.Env) and (_SECRET_KEY.search(key) or _SECRET_KEY.search(value.name)):
                secret = os.environ.get(value.name)
                if secret:
                    values.append(secret)
    return Secrets(tuple(sorted(set(values), key=len, reverse=True)))


# ---------------------------------------------------------------- planning (pure)


def drop_sql(target: str, kind: str, name: str) -> str:
    return f"DROP {kind.upper()} IF EXISTS {quote_ident(name)}"


def default_schema(deployment: str) -> str:
    """A deployment's schema when `--schema` is not given: its name as a plain lower-case identifier
    (so users can write `SELECT * FROM shop.hot_items` without quotes)."""
    s = re.sub(r"[^a-z0-9_]+", "_", deployment.lower()).strip("_") or "flowc"
    if s[0].isdigit():
        s = "d_" + s
    if s.startswith("pg_") or s == CATALOG:
        s = "flowc_" + s
    return s[:63]


def check_schema(schema: str) -> None:
    """Refuse a `--schema` the servers would refuse or that is flowc's own."""
    problem = None
    if not schema.strip():
        problem = "is empty"
    elif len(schema.encode()) > 63:
        problem = "is longer than 63 bytes (PostgreSQL would cut it)"
    elif schema.lower().startswith("pg_"):
        problem = "starts with pg_, which PostgreSQL reserves for its own schemas"
    elif schema in (CATALOG, "information_schema", "pg_catalog", "rw_catalog"):
        problem = "is a catalog schema"
    if problem:
        raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"--schema '{schema}' {problem}", None,
                                   "name a schema of your own, or leave --schema out to use the deployment's name"))


def plan_deploy(deployment: str, target: str, objects: list[DeployObject], deployed: dict[str, Deployed],
                notes: list[str] | None = None, schema: str | None = None) -> DeployPlan:
    """What to drop and create to go from `deployed` (the catalog) to `objects` (the program)."""
    desired = {o.name: o for o in objects}
    plan = DeployPlan(deployment, target, program_hash(target, objects), notes=list(notes or []),
                      objects=list(objects), schema=schema)
    reasons: dict[str, str] = {}
    for name, d in deployed.items():
        o = desired.get(name)
        if o is None:
            reasons[name] = "removed from the program"
        elif o.digest != d.digest or o.kind != d.kind:
            reasons[name] = "changed"
    # everything that (transitively) reads a dropped object must go first, and come back after
    readers: dict[str, set[str]] = {}
    for name, d in deployed.items():
        for dep in d.depends_on:
            readers.setdefault(dep, set()).add(name)
    for o in objects:
        if o.name in deployed:
            for dep in o.depends_on:
                readers.setdefault(dep, set()).add(o.name)
    work = list(reasons)
    while work:
        n = work.pop()
        for r in sorted(readers.get(n, ())):
            if r not in reasons and r in deployed:
                reasons[r] = f"reads {n}, which is dropped"
                work.append(r)
    for name in sorted(reasons, key=lambda n: deployed[n].position, reverse=True):
        d = deployed[name]
        plan.steps.append(Step("drop", name, d.kind, drop_sql(target, d.kind, name), reasons[name]))
    for o in objects:
        if o.name not in deployed:
            plan.steps.append(Step("create", o.name, o.kind, o.statement, "new", o))
        elif o.name in reasons:
            why = reasons[o.name]
            plan.steps.append(Step("create", o.name, o.kind, o.statement,
                                   "changed" if why == "changed" else f"recreated: {why}", o))
        else:
            plan.unchanged.append(o.name)
    return plan


# ---------------------------------------------------------------- the catalog


_CATALOG_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {CATALOG}",
    f"CREATE TABLE IF NOT EXISTS {CATALOG}.objects (deployment VARCHAR, name VARCHAR, kind VARCHAR, "
    "digest VARCHAR, statement VARCHAR, depends_on VARCHAR, position INT, deployed_at TIMESTAMPTZ, "
    "PRIMARY KEY (deployment, name))",
    f"CREATE TABLE IF NOT EXISTS {CATALOG}.schemas (deployment VARCHAR, schema_name VARCHAR, "
    "PRIMARY KEY (deployment))",
    f"CREATE TABLE IF NOT EXISTS {CATALOG}.deployments (deployment VARCHAR, deployed_at TIMESTAMPTZ, "
    "target VARCHAR, program_hash VARCHAR, statements VARCHAR, PRIMARY KEY (deployment, deployed_at))",
)


def _catalog_exists(cur, table: str = "objects") -> bool:
    cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (CATALOG, table))
    return cur.fetchone()[0] > 0


def deployed_schemas(cur) -> dict[str, str]:
    """deployment -> the schema it lives in, for every deployment in the catalog (`public` for one
    deployed before deployments had schemas)."""
    if not _catalog_exists(cur):
        return {}
    cur.execute(f"SELECT DISTINCT deployment FROM {CATALOG}.objects")
    found = {r[0]: "public" for r in cur.fetchall()}
    if _catalog_exists(cur, "schemas"):
        cur.execute(f"SELECT deployment, schema_name FROM {CATALOG}.schemas")
        found.update({r[0]: r[1] for r in cur.fetchall()})
    return found


def read_catalog(cur, deployment: str) -> dict[str, Deployed]:
    if not _catalog_exists(cur):
        return {}
    cur.execute(f"SELECT name, kind, digest, depends_on, position FROM {CATALOG}.objects WHERE deployment = %s",
                (deployment,))
    return {r[0]: Deployed(r[0], r[1], r[2], tuple(json.loads(r[3] or "[]")), int(r[4])) for r in cur.fetchall()}


def owners(cur, deployment: str, schema: str) -> dict[str, str]:
    """The objects other deployments own in `schema`: name -> their deployment."""
    if not _catalog_exists(cur):
        return {}
    schemas = deployed_schemas(cur)
    cur.execute(f"SELECT name, deployment FROM {CATALOG}.objects WHERE deployment <> %s", (deployment,))
    return {r[0]: r[1] for r in cur.fetchall() if schemas.get(r[1], "public") == schema}


def _record(cur, deployment: str, step: Step, position: int, secrets: Secrets) -> None:
    cur.execute(f"DELETE FROM {CATALOG}.objects WHERE deployment = %s AND name = %s", (deployment, step.name))
    if step.action == "create":
        o = step.obj
        assert o is not None
        cur.execute(f"INSERT INTO {CATALOG}.objects (deployment, name, kind, digest, statement, depends_on, "
                    "position, deployed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (deployment, o.name, o.kind, o.digest, secrets.redact(o.statement),
                     json.dumps(list(o.depends_on)), position, _now()))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------- applying


@dataclass
class DeployResult:
    plan: DeployPlan
    applied: list[Step]


def deploy(program: ir.Program, target: str, dsn: str | None, dry_run: bool = False,
           name: str | None = None, out=None, log=None, allow_data_loss: bool = False,
           schema: str | None = None) -> DeployResult:
    """Plan against the server's catalog, print the plan to `out`, and (unless dry_run) apply it,
    reporting each step to `log`. Without a DSN a dry run plans against an empty catalog.
    `schema`: where the deployment lives (default: where it already lives, else its name)."""
    out = out or sys.stdout
    log = log or sys.stderr
    deployment = name or deploy_name(program)
    if schema is not None:
        check_schema(schema)
    objects, notes = deploy_objects(program, target)
    secrets = program_secrets(program)
    dsn_value = resolve_dsn(dsn, DSN_ENV[target], default=None) if not (dry_run and dsn is None
                                                                        and not os.environ.get(DSN_ENV[target])) \
        else None
    if dsn_value is None:
        plan = plan_deploy(deployment, target, objects, {}, notes, schema or default_schema(deployment))
        plan.notes.append("no --dsn: planned as for an empty database")
        out.write(plan.render(secrets))
        return DeployResult(plan, [])
    secrets = secrets + Secrets.of(dsn_value)
    what = "RisingWave" if target == "risingwave" else "PostgreSQL"
    with connect(dsn_value, what, autocommit=True) as conn:
        cur = conn.cursor()
        try:
            deployed = read_catalog(cur, deployment)
            lives = deployed_schemas(cur).get(deployment)
        except Exception as e:  # a server error reading the catalog: shown without secrets
            raise FlowError(Diagnostic(Code.IO, f"cannot read the deploy catalog {CATALOG}: "
                                                f"{secrets.redact(first_line(str(e)))}", None)) from None
        if schema is not None and lives is not None and schema != lives and deployed:
            raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"deployment '{deployment}' lives in schema '{lives}', "
                                       f"not '{schema}': nothing was applied", None,
                                       f"deploy it with --schema {lives} (or without --schema), or give the new "
                                       "one its own --name"))
        schema = schema or lives or default_schema(deployment)
        plan = plan_deploy(deployment, target, objects, deployed, notes, schema)
        out.write(plan.render(secrets))
        taken = owners(cur, deployment, schema)
        clashes = [(s.name, taken[s.name]) for s in plan.steps if s.action == "create" and s.name in taken]
        if clashes:
            name, other = clashes[0]
            raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"{len(clashes)} object(s) of deployment '{deployment}' "
                                       f"belong to another deployment: '{name}' is deployment '{other}''s: nothing "
                                       "was applied", None,
                                       f"two deployments never share objects: rename '{name}' in this program, or "
                                       f"deploy it with --name {other} to update that deployment"))
        if dry_run or plan.empty:
            return DeployResult(plan, [])
        if plan.data_loss and not allow_data_loss:
            tables = ", ".join(s.name for s in plan.data_loss)
            raise FlowError(Diagnostic(Code.BAD_ARGUMENT, f"the plan drops table {tables} and the rows loaded into "
                                       "it: nothing was applied", None,
                                       "deploy again with --allow-data-loss to accept it, or keep the source's "
                                       "columns as deployed (--dry-run shows the plan)"))
        for stmt in _CATALOG_DDL + tuple(plan.preamble):
            _apply_sql(cur, stmt, [], secrets)
        cur.execute(f"DELETE FROM {CATALOG}.schemas WHERE deployment = %s", (deployment,))
        cur.execute(f"INSERT INTO {CATALOG}.schemas (deployment, schema_name) VALUES (%s, %s)", (deployment, schema))
        applied: list[Step] = []
        position = max((d.position for d in deployed.values()), default=0)
        for i, step in enumerate(plan.steps, 1):
            position += 1
            if target == "postgres":
                with conn.transaction():
                    _apply_sql(cur, step.sql, applied, secrets, step)
                    _record(cur, deployment, step, position, secrets)
            else:
                _apply_sql(cur, step.sql, applied, secrets, step, target)
                _record(cur, deployment, step, position, secrets)
            applied.append(step)
            log.write(secrets.redact(f"flowc deploy: [{i}/{len(plan.steps)}] {step.action} {step.kind} "
                                     f"{step.name}: ok\n"))
        cur.execute(f"INSERT INTO {CATALOG}.deployments (deployment, deployed_at, target, program_hash, statements) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (deployment, _now(), target, plan.program_hash,
                     json.dumps([secrets.redact(s.sql) for s in plan.steps])))
        log.write(f"flowc deploy: '{deployment}' deployed to {secrets.redact(display_dsn(dsn_value))} "
                  f"({len(applied)} steps), in schema {schema}: query its views as {schema}.<view>, or "
                  f"SET search_path TO {quote_ident(schema)}\n")
        return DeployResult(plan, applied)


def _apply_sql(cur, sql: str, applied: list[Step], secrets: Secrets, step: Step | None = None,
               target: str = "postgres") -> None:
    import psycopg

    try:
        cur.execute(sql)
    except psycopg.Error as e:
        raise stopped_at(step, sql, str(e), applied, secrets, target) from None


def stopped_at(step: Step | None, sql: str, server: str, applied: list[Step], secrets: Secrets,
               target: str) -> FlowError:
    """The diagnostic of a statement the server refused: what stopped, the statement, the server's
    words, what was applied, and what to do (RisingWave's known configuration refusals named)."""
    what = f"{step.action} {step.kind} {step.name}" if step else "creating the deploy catalog"
    done = [f"{s.action} {s.kind} {s.name}" for s in applied]
    notes = (f"statement: {secrets.redact(sql)}",
             f"server: {secrets.redact(first_line(server))}",
             "already applied: " + ("; ".join(done) if done else "nothing"))
    hint = "fix the cause and deploy again: the catalog records what was applied, so the next deploy " \
           "continues from there"
    if target == "risingwave":
        from flowc.targets.risingwave.rules import server_hint

        known = server_hint(server)
        if known is not None:
            hint = f"{known}; {hint}"
    return FlowError(Diagnostic(Code.IO, f"deploy stopped at {what}", None, hint, notes=notes))


__all__ = ["deploy", "plan_deploy", "deploy_objects", "deploy_name", "default_schema", "DeployPlan", "DeployObject", "Deployed",
           "Step", "read_catalog", "DEPLOY_TARGETS", "CATALOG"]
