"""IR relation plans -> one RisingWave SELECT (with CTEs where a window needs a named input).

A plan is compiled bottom-up into a `Frame`: an open `SELECT <cols> FROM <from> [WHERE] [GROUP BY]
[HAVING] ...` whose columns are the node's schema, each given as the SQL expression it stands for.
A node merges into its input's frame when SQL allows it (a filter becomes WHERE or HAVING, a project
substitutes expressions, an aggregate adds GROUP BY) and wraps the frame in a subquery otherwise.
TUMBLE/HOP need a *named* relation and a plain time column (reference §1.3): a window directly over
a scan of a source/table/view uses it, anything else goes through a CTE.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flowc.compiler import ir
from flowc.compiler.diagnostics import UnsupportedFeature
from sqlglot import exp

from . import expressions as X

TARGET = "risingwave"


@dataclass
class Frame:
    from_: exp.Expression
    cols: list[tuple[str, exp.Expression]]
    joins: list[exp.Join] = field(default_factory=list)
    where: list[exp.Expression] = field(default_factory=list)
    group: list[exp.Expression] | None = None
    having: list[exp.Expression] = field(default_factory=list)
    distinct_on: list[exp.Expression] | None = None
    order: list[exp.Expression] | None = None
    limit: int | None = None
    base: str | None = None  # the named relation read, when from_ is exactly that relation
    windowed: bool = False  # from_ is a TUMBLE/HOP

    @property
    def env(self) -> dict[str, exp.Expression]:
        return dict(self.cols)

    @property
    def open(self) -> bool:
        """Can take more WHERE conditions / a projection / a GROUP BY."""
        return self.group is None and self.distinct_on is None and self.limit is None

    @property
    def plain(self) -> bool:
        """Reads a named relation as is: no condition, every column a bare column of it."""
        return (self.open and self.base is not None and not self.where and not self.joins
                and not self.windowed
                and all(isinstance(e, exp.Column) and not e.table for _, e in self.cols))


class RelCompiler:
    """Compiles the plans of one view; collects the CTEs its windows need."""

    def __init__(self, program: ir.Program, view_name: str):
        self.program = program
        self.view_name = view_name
        self.ctes: list[exp.CTE] = []
        self.names_used = {r.name for r in (*program.sources, *program.tables, *program.views)}
        self.counters: dict[str, int] = {}

    # ------------------------------------------------------------ helpers

    def fresh(self, stem: str) -> str:
        while True:
            self.counters[stem] = self.counters.get(stem, 0) + 1
            name = f"{stem}{self.counters[stem]}"
            if name not in self.names_used:
                self.names_used.add(name)
                return name

    def relation_schema(self, name: str) -> ir.Schema:
        for r in (*self.program.sources, *self.program.tables, *self.program.views):
            if r.name == name:
                return r.schema
        return ()

    def select(self, f: Frame) -> exp.Select:
        sel = exp.Select(expressions=[X.alias(e.copy(), n) for n, e in f.cols])
        sel.set("from_", exp.From(this=f.from_.copy()))
        if f.joins:
            sel.set("joins", [j.copy() for j in f.joins])
        if f.where:
            sel.set("where", exp.Where(this=X.conjunction([w.copy() for w in f.where])))
        if f.group is not None and f.group:
            sel.set("group", exp.Group(expressions=[g.copy() for g in f.group]))
        if f.having:
            sel.set("having", exp.Having(this=X.conjunction([h.copy() for h in f.having])))
        if f.distinct_on is not None:
            sel.set("distinct", exp.Distinct(on=exp.Tuple(expressions=[d.copy() for d in f.distinct_on])))
        if f.order:
            sel.set("order", exp.Order(expressions=[o.copy() for o in f.order]))
        if f.limit is not None:
            sel.set("limit", exp.Limit(expression=exp.Literal.number(f.limit)))
        return sel

    def wrap(self, f: Frame, query: exp.Expression | None = None) -> Frame:
        """`SELECT cols FROM (f) AS _qN`: a fresh open frame over f's output columns."""
        name = self.fresh("_q")
        sub = exp.Subquery(this=query if query is not None else self.select(f),
                           alias=exp.TableAlias(this=X.ident(name)))
        return Frame(from_=sub, cols=[(n, X.col(n)) for n, _ in f.cols])

    def named(self, f: Frame) -> tuple[str, Frame]:
        """A named relation holding f's rows: f's own relation if plain, else a new CTE."""
        if f.plain and f.base is not None and all(e.name == n for n, e in f.cols):
            return f.base, f
        name = self.fresh(f"{self.view_name}_w")
        self.ctes.append(exp.CTE(this=self.select(f), alias=exp.TableAlias(this=X.ident(name))))
        return name, Frame(from_=X.table(name), cols=[(n, X.col(n)) for n, _ in f.cols], base=name)

    # ------------------------------------------------------------ nodes

    def compile(self, r: ir.Rel) -> Frame:
        method = getattr(self, f"_{type(r).__name__.lower()}", None)
        if method is None:
            raise UnsupportedFeature(f"relation {type(r).__name__}", TARGET, r.span)
        return method(r)

    def _scan(self, r: ir.Scan) -> Frame:
        return Frame(from_=X.table(r.name), cols=[(f.name, X.col(f.name)) for f in r.columns], base=r.name)

    def _filter(self, r: ir.Filter) -> Frame:
        f = self.compile(r.input)
        if f.open:
            f.where.append(X.expr(r.predicate, f.env))
            return f
        if f.distinct_on is None and f.limit is None:  # aggregated: HAVING over the aggregates
            f.having.append(X.expr(r.predicate, f.env))
            return f
        f = self.wrap(f)
        f.where.append(X.expr(r.predicate, f.env))
        return f

    def _project(self, r: ir.Project) -> Frame:
        f = self.compile(r.input)
        if f.distinct_on is not None or f.limit is not None:
            f = self.wrap(f)
        env = f.env
        return replace(f, cols=[(n, X.expr(e, env)) for n, e in r.columns], base=f.base)

    def _windowed(self, f: Frame, w: ir.WindowSpec, span) -> Frame:
        """f with window_start/window_end added by FROM TUMBLE(...) / HOP(...)."""
        if w.kind not in ("tumble", "hop"):
            raise UnsupportedFeature(f"{w.kind} window", TARGET, w.span or span,
                                     "session windows are not generated for RisingWave yet")
        time_expr = f.env.get(w.time_col)
        direct = (f.open and f.base is not None and not f.joins and not f.windowed
                  and isinstance(time_expr, exp.Column) and not time_expr.table
                  and not {"window_start", "window_end"} & set(ir.schema_names(self.relation_schema(f.base))))
        if direct:
            rel, time_col = f.base, time_expr.name  # type: ignore[union-attr]
        else:
            rel, f = self.named(f if f.open else self.wrap(f))
            time_col = w.time_col
        args: list[exp.Expression] = [X.col(rel), X.col(time_col)]
        if w.kind == "hop":
            args += [X.interval(w.slide), X.interval(w.size)]
        else:
            args.append(X.interval(w.size))
        if w.offset:
            args.append(X.interval(w.offset))
        tvf = exp.Table(this=exp.Anonymous(this=w.kind.upper(), expressions=args))
        cols = f.cols + [("window_start", X.col("window_start")), ("window_end", X.col("window_end"))]
        return replace(f, from_=tvf, cols=cols, base=None, windowed=True)

    def _windowassign(self, r: ir.WindowAssign) -> Frame:
        return self._windowed(self.compile(r.input), r.window, r.span)

    def _aggregate(self, r: ir.Aggregate) -> Frame:
        f = self.compile(r.input)
        if not f.open:
            f = self.wrap(f)
        if r.window is not None:
            f = self._windowed(f, r.window, r.span)
        env = f.env
        keys = list(r.keys) + (["window_start", "window_end"] if r.window is not None else [])
        group = [env[k].copy() for k in keys]
        cols = [(k, env[k].copy()) for k in keys] + [(a.name, X.aggregate(a, env)) for a in r.aggs]
        return replace(f, cols=cols, group=group, base=None)

    def _distinct(self, r: ir.Distinct) -> Frame:
        f = self.compile(r.input)
        if f.distinct_on is not None or f.limit is not None:
            f = self.wrap(f)
        env = f.env
        return replace(f, distinct_on=[env[k].copy() for k in r.keys], base=None)

    def _topn(self, r: ir.TopN) -> Frame:
        f = self.compile(r.input)
        if f.distinct_on is not None or f.limit is not None:
            f = self.wrap(f)
        order_expr = X.expr(r.order_by, f.env)
        # PostgreSQL/RisingWave defaults: NULLS FIRST for DESC, NULLS LAST for ASC (printed bare)
        ordered = exp.Ordered(this=order_expr, desc=r.descending, nulls_first=r.descending)
        if not r.per:
            return replace(f, order=[ordered], limit=r.n, base=None)
        # group top-N: ROW_NUMBER() over the partition, filtered (RisingWave plans StreamGroupTopN)
        rn = self.fresh("_rn")
        env = f.env
        window = exp.Window(this=exp.RowNumber(), partition_by=[env[k].copy() for k in r.per],
                            order=exp.Order(expressions=[ordered]), over="OVER")
        inner = replace(f, cols=f.cols + [(rn, window)])
        out = self.wrap(inner)
        out.cols = [(n, e) for n, e in out.cols if n != rn]
        out.where.append(exp.LTE(this=X.col(rn), expression=exp.Literal.number(r.n)))
        return out

    def _unionall(self, r: ir.UnionAll) -> Frame:
        left, right = self.compile(r.input), self.compile(r.other)

        def operand(f: Frame) -> exp.Expression:
            # an operand's own ORDER BY/LIMIT must not apply to the whole union
            sel = self.select(f)
            return exp.Subquery(this=sel) if f.limit is not None or f.order else sel

        union = exp.Union(this=operand(left), expression=operand(right), distinct=False)
        return self.wrap(left, union)

    def _join_side(self, f: Frame, name: str, allow_where: bool) -> tuple[exp.Expression, Frame]:
        """(FROM/JOIN item named `name`, f's columns qualified by that name)."""
        if f.open and f.base is not None and not f.joins and not f.windowed and (allow_where or not f.where):
            item = X.table(f.base)
            if name != f.base:
                item.set("alias", exp.TableAlias(this=X.ident(name)))
            qualified = replace(f, cols=[(n, _qualify(e, name)) for n, e in f.cols],
                                where=[_qualify(w, name) for w in f.where])
            return item, qualified
        sub = exp.Subquery(this=self.select(f), alias=exp.TableAlias(this=X.ident(name)))
        return sub, Frame(from_=sub, cols=[(n, X.col(n, name)) for n, _ in f.cols])

    def _join(self, r: ir.Join) -> Frame:
        left, right = self.compile(r.input), self.compile(r.right)
        left_name = left.base if left.base and left.base != r.alias else self.fresh("_l")
        # a condition on the left input may stay in WHERE for inner and left joins alike
        left_item, left = self._join_side(left, left_name, allow_where=True)
        right_item, right = self._join_side(right, r.alias, allow_where=False)
        cols = list(left.cols) + [(n, e) for n, (_, e) in zip(r.right_names, right.cols, strict=True)]
        cond = X.expr(r.condition, dict(cols))
        join = exp.Join(this=right_item, on=cond, side="LEFT" if r.kind == "left" else None)
        return Frame(from_=left_item, cols=cols, joins=[join], where=list(left.where))


def _qualify(e: exp.Expression, name: str) -> exp.Expression:
    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            return X.col(node.name, name)
        return node
    return e.copy().transform(fix)


def has_windowed_aggregate(r: ir.Rel) -> bool:
    return any(isinstance(n, ir.Aggregate) and n.window is not None for n in ir.walk(r))


def compile_query(program: ir.Program, view: ir.View) -> exp.Expression:
    """The SELECT of a view's plan, CTEs first."""
    rc = RelCompiler(program, view.name)
    frame = rc.compile(view.plan)
    query = rc.select(frame)
    if [n for n, _ in frame.cols] != list(ir.schema_names(view.schema)):
        raise AssertionError("compiled columns differ from the view's schema")
    if rc.ctes:
        query.set("with_", exp.With(expressions=rc.ctes))
    return query
