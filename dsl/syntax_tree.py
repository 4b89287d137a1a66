"""Turns the lark parse tree of grammar/flow.lark into the AST of flowc.dsl.ast, with spans.

Checks that the grammar leaves to later (an option given twice, a table without a primary key, a
duration with a wrong unit) are collected as diagnostics instead of raised, so one run reports all
of them; the caller raises when `errors` is not empty.
"""

from __future__ import annotations

from flowc.compiler.diagnostics import Code, Diagnostic
from flowc.compiler.span import Span
from lark import Token, Transformer, v_args

from . import ast
from .syntax_durations import DurationError, duration_micros

_COMPARISON_SPELLINGS = {"==": "=", "!=": "<>"}  # accepted for users of C-like languages


def token_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


def ident_text(tok: Token) -> str:
    """The name a NAME or `quoted name` token stands for."""
    if tok.type == "QUOTED_NAME":
        return tok[1:-1].replace("``", "`")
    return str(tok)


MAX_INT_DIGITS = 38  # decimal(38, 0)


class _PrimaryKey:
    def __init__(self, names: tuple[str, ...], span: Span):
        self.names = names
        self.span = span


class _Option:
    """One `event_time ...`, `on_late ...` or `on_error ...` clause of a source, before it is merged."""

    def __init__(self, key: str, value: object, span: Span, extra: object = None):
        self.key = key
        self.value = value
        self.span = span
        self.extra = extra


@v_args(meta=True)
class AstBuilder(Transformer):
    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file
        self.errors: list[Diagnostic] = []

    def _span(self, meta) -> Span | None:
        if getattr(meta, "empty", True):
            return None
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, tok: Token) -> Span:
        return token_span(self.file, tok)

    def _error(self, code: Code, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(Diagnostic(code, message, span, hint))

    # ------------------------------------------------------------ program

    def start(self, meta, decls):
        return tuple(decls)

    def expr_start(self, meta, children):
        return children[0]

    # ------------------------------------------------------------ declarations

    def source_decl(self, meta, children):
        name_tok, columns, connector, *options = children
        name = ident_text(name_tok)
        fields: dict[str, object] = {}
        seen: dict[str, Span] = {}
        for opt in options:
            if opt.key in seen:
                self._error(Code.SYNTAX, f"'{opt.key}' is given twice in source '{name}'", opt.span,
                            f"the first one is at line {seen[opt.key].line}; keep one")
                continue
            seen[opt.key] = opt.span
            if opt.key == "event_time":
                col_tok, watermark = opt.value, opt.extra
                fields["event_time"] = ident_text(col_tok)
                fields["event_time_span"] = self._tok(col_tok)
                fields["watermark"] = watermark
            else:
                fields[opt.key] = opt.value
        return ast.SourceDecl(name, columns, connector, span=self._span(meta), name_span=self._tok(name_tok),
                              **fields)

    def column_defs(self, meta, children):
        return tuple(children)

    def column_def(self, meta, children):
        name_tok, type_name = children
        return ast.ColumnDef(ident_text(name_tok), type_name, span=self._span(meta))

    def col_type(self, meta, children):
        name_tok, params = children
        return ast.TypeName(str(name_tok), params or (), span=self._span(meta))

    def type_params(self, meta, children):
        return tuple(int(t) for t in children)

    def event_time(self, meta, children):
        col_tok, dur_tok = children
        return _Option("event_time", col_tok, self._span(meta), extra=self._duration(dur_tok))

    def on_late_drop(self, meta, children):
        return _Option("on_late", "drop", self._span(meta))

    def on_late_into(self, meta, children):
        return _Option("on_late", children[0], self._span(meta))

    def on_error_fail(self, meta, children):
        return _Option("on_error", "fail", self._span(meta))

    def on_error_skip(self, meta, children):
        return _Option("on_error", "skip", self._span(meta))

    def on_error_into(self, meta, children):
        return _Option("on_error", children[0], self._span(meta))

    def table_decl(self, meta, children):
        name_tok, elems, connector = children
        name = ident_text(name_tok)
        columns = tuple(e for e in elems if isinstance(e, ast.ColumnDef))
        keys = [e for e in elems if isinstance(e, _PrimaryKey)]
        span = self._span(meta)
        if not keys:
            self._error(Code.SYNTAX, f"table '{name}' has no primary key", self._tok(name_tok),
                        "add 'primary key (COL, ...)' to the column list, or declare a 'source' instead")
        for extra in keys[1:]:
            self._error(Code.SYNTAX, f"table '{name}' has more than one primary key", extra.span,
                        "list all key columns in one 'primary key (a, b)'")
        primary_key = keys[0].names if keys else ()
        return ast.TableDecl(name, columns, primary_key, connector, span=span, name_span=self._tok(name_tok))

    def table_elems(self, meta, children):
        return tuple(children)

    def primary_key(self, meta, children):
        return _PrimaryKey(children[0], self._span(meta))

    def ident_list(self, meta, children):
        return tuple(ident_text(t) for t in children)

    def view_decl(self, meta, children):
        name_tok, pipeline = children
        if not isinstance(pipeline, ast.Pipeline):  # cannot happen with this grammar, kept as a guard
            pipeline = ast.Pipeline(pipeline, (), span=pipeline.span)
        return ast.ViewDecl(ident_text(name_tok), pipeline, span=self._span(meta), name_span=self._tok(name_tok))

    def sink_decl(self, meta, children):
        name_tok, connector = children
        return ast.SinkDecl(ident_text(name_tok), connector, span=self._span(meta), view_span=self._tok(name_tok))

    def connector(self, meta, children):
        name_tok, args = children
        return ast.Connector(str(name_tok), args or (), span=self._span(meta))

    # ------------------------------------------------------------ pipelines

    def pipeline(self, meta, children):
        start, *stages = children
        return ast.Pipeline(start, tuple(stages), span=self._span(meta))

    def relation_ref(self, meta, children):
        return ast.RelationRef(ident_text(children[0]), span=self._span(meta))

    def where(self, meta, children):
        return ast.Where(children[0], span=self._span(meta))

    def select(self, meta, children):
        return ast.Select(children[0], span=self._span(meta))

    def derive(self, meta, children):
        return ast.Derive(children[0], span=self._span(meta))

    def window(self, meta, children):
        return ast.Window(children[0], span=self._span(meta))

    def aggregate(self, meta, children):
        items, by = children
        return ast.Aggregate(items, by or (), span=self._span(meta))

    def join(self, meta, children):
        return self._join(meta, children, "inner")

    def left_join(self, meta, children):
        return self._join(meta, children, "left")

    def _join(self, meta, children, kind: str):
        relation, alias_tok, on = children
        alias = ident_text(alias_tok) if alias_tok is not None else None
        return ast.Join(relation, on, alias, kind, span=self._span(meta))

    def distinct(self, meta, children):
        return ast.Distinct(children[0], span=self._span(meta))

    def top(self, meta, children):
        n_tok, by, descending, per = children
        return ast.Top(int(n_tok), by, True if descending is None else descending, per or (),
                       span=self._span(meta))

    def asc(self, meta, children):
        return False

    def desc(self, meta, children):
        return True

    def union(self, meta, children):
        return ast.Union_(children[0], span=self._span(meta))

    def emit_final(self, meta, children):
        return ast.Emit("final", span=self._span(meta))

    def emit_changes(self, meta, children):
        return ast.Emit("changes", span=self._span(meta))

    def items(self, meta, children):
        return tuple(children)

    def named_item(self, meta, children):
        name_tok, expr = children
        return ast.Item(expr, ident_text(name_tok), span=self._span(meta))

    def bare_item(self, meta, children):
        return ast.Item(children[0], None, span=self._span(meta))

    def expr_list(self, meta, children):
        return tuple(children)

    # ------------------------------------------------------------ expressions

    def or_op(self, meta, children):
        return ast.Binary("or", children[0], children[1], span=self._span(meta))

    def and_op(self, meta, children):
        return ast.Binary("and", children[0], children[1], span=self._span(meta))

    def not_op(self, meta, children):
        return ast.Unary("not", children[0], span=self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.Binary(_COMPARISON_SPELLINGS.get(op, op), left, right, span=self._span(meta))

    def binop(self, meta, children):
        left, op, right = children
        return ast.Binary(op, left, right, span=self._span(meta))

    def comp_op(self, meta, children):
        return str(children[0])

    concat_op = add_op = mul_op = comp_op

    def is_null(self, meta, children):
        return ast.IsNull(children[0], False, span=self._span(meta))

    def is_not_null(self, meta, children):
        return ast.IsNull(children[0], True, span=self._span(meta))

    def in_list(self, meta, children):
        return ast.InList(children[0], children[1], False, span=self._span(meta))

    def not_in_list(self, meta, children):
        return ast.InList(children[0], children[1], True, span=self._span(meta))

    def between(self, meta, children):
        return ast.Between(*children, negated=False, span=self._span(meta))

    def not_between(self, meta, children):
        return ast.Between(*children, negated=True, span=self._span(meta))

    def extract(self, meta, children):
        field, value = children
        return ast.Extract(str(field), value, span=self._span(meta))

    def like(self, meta, children):
        return ast.Like(children[0], children[1], span=self._span(meta))

    def not_like(self, meta, children):
        return ast.Like(children[0], children[1], negated=True, span=self._span(meta))

    def ilike(self, meta, children):
        return ast.Like(children[0], children[1], ignore_case=True, span=self._span(meta))

    def not_ilike(self, meta, children):
        return ast.Like(children[0], children[1], negated=True, ignore_case=True, span=self._span(meta))

    def neg(self, meta, children):
        operand = children[0]
        span = self._span(meta)
        # `-5` is one literal, so `fc.lit(-5)` and the text `-5` build the same AST.
        if isinstance(operand, ast.Literal) and operand.kind in ("int", "float"):
            return ast.Literal(-operand.value, operand.kind, span=span)
        if isinstance(operand, ast.Duration):
            return ast.Duration(-operand.micros, "-" + operand.text, span=span)
        return ast.Unary("-", operand, span=span)

    def int_lit(self, meta, children):
        text = str(children[0])
        if len(text.lstrip("0")) > MAX_INT_DIGITS:
            self._error(Code.TYPE_MISMATCH, f"integer literal of {len(text)} digits is out of range",
                        self._tok(children[0]), f"the widest number type, decimal(38, 0), holds {MAX_INT_DIGITS} digits")
            return ast.Literal(0, "int", span=self._tok(children[0]))
        return ast.Literal(int(text), "int", span=self._tok(children[0]))

    def float_lit(self, meta, children):
        return ast.Literal(float(children[0]), "float", span=self._tok(children[0]))

    def string_lit(self, meta, children):
        tok = children[0]
        return ast.Literal(tok[1:-1].replace("''", "'"), "string", span=self._tok(tok))

    def true_lit(self, meta, children):
        return ast.Literal(True, "bool", span=self._span(meta))

    def false_lit(self, meta, children):
        return ast.Literal(False, "bool", span=self._span(meta))

    def null_lit(self, meta, children):
        return ast.Literal(None, "null", span=self._span(meta))

    def duration(self, meta, children):
        return self._duration(children[0])

    def _duration(self, tok: Token) -> ast.Duration:
        span = self._tok(tok)
        try:
            micros = duration_micros(str(tok))
        except DurationError as e:
            self._error(Code.BAD_DURATION, e.message, span, e.hint)
            micros = 0
        return ast.Duration(micros, str(tok), span=span)

    def name(self, meta, children):
        return ast.Name(tuple(ident_text(t) for t in children), span=self._span(meta))

    def call(self, meta, children):
        name_tok, args, where = children
        return ast.Call(str(name_tok), args or (), span=self._span(meta), filter=where)

    def star_call(self, meta, children):
        name_tok, where = children
        return ast.Call(str(name_tok), (), span=self._span(meta), filter=where, star=True)

    def agg_filter(self, meta, children):
        return children[0]

    def args(self, meta, children):
        return tuple(children)

    def named_arg(self, meta, children):
        name_tok, value = children
        return ast.Arg(value, str(name_tok), span=self._span(meta))

    def pos_arg(self, meta, children):
        return ast.Arg(children[0], None, span=self._span(meta))

    def case(self, meta, children):
        *whens, else_ = children
        return ast.Case(tuple(whens), else_, span=self._span(meta))

    def when(self, meta, children):
        return (children[0], children[1])

    def cast(self, meta, children):
        return ast.Cast(children[0], children[1], span=self._span(meta))
