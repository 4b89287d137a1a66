"""The canonical .flow text of a program (`flowc fmt`, `Flow.to_flow()`).

The output parses back to an equal program. Parentheses are added only where the grammar's
precedence needs them (loosest first: or < and < not < comparisons, is null, in, between < || <
+ - < * / % < unary -). Comments are not in the AST; `format_source` carries them over from the
original text: comments between declarations stay where they are, comments inside a declaration
move to just above it, so none is lost.
"""

from __future__ import annotations

import functools
import re

from . import ast
from .syntax_durations import format_duration

# Keywords are contextual (`top` is a fine column name), so a name needs backticks only where the
# parser would read it as something else: in an expression (checked by parsing it), or as one of the
# words that end an expression inside a stage.
_ENDS_AN_EXPRESSION = frozenset("as on by per asc desc and or into from".split())
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# binding strength of each printed form; higher binds tighter
_OR, _AND, _NOT, _PRED, _CONCAT, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 10)
_BINARY = {"or": _OR, "and": _AND, "||": _CONCAT, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT,
           "%": _PRODUCT, "=": _PRED, "<>": _PRED, "<": _PRED, "<=": _PRED, ">": _PRED, ">=": _PRED}


@functools.cache
def _reads_back_as_a_name(name: str) -> bool:
    from flowc.compiler.diagnostics import FlowError

    from .parser import parse_expression

    try:
        return parse_expression(name, "<name>") == ast.Name((name,))
    except FlowError:
        return False


def ident(name: str) -> str:
    if _PLAIN.match(name) and name not in _ENDS_AN_EXPRESSION and _reads_back_as_a_name(name):
        return name
    return "`" + name.replace("`", "``") + "`"


def string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------- expressions


def expr(e: ast.Expr) -> str:
    return _expr(e)[0]


def _wrap(e: ast.Expr, at_least: int) -> str:
    text, strength = _expr(e)
    return f"({text})" if strength < at_least else text


def _expr(e: ast.Expr) -> tuple[str, int]:
    if isinstance(e, ast.Name):
        return ".".join(ident(p) for p in e.parts), _ATOM
    if isinstance(e, ast.Literal):
        return _literal(e), _UNARY if _negative(e.value) else _ATOM
    if isinstance(e, ast.Duration):
        return format_duration(e.micros), _UNARY if e.micros < 0 else _ATOM
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return f"not {_wrap(e.operand, _NOT)}", _NOT
        inner = _wrap(e.operand, _UNARY)
        # `- -x` keeps its space (`--` would not lex). A minus before a number literal has no text of its
        # own: the parser and the builder both fold it into a negative literal, so it never reaches here.
        return f"- {inner}" if inner.startswith("-") else f"-{inner}", _UNARY
    if isinstance(e, ast.Binary):
        level = _BINARY[e.op]
        if level == _PRED:  # comparisons do not chain: both operands must be tighter
            return f"{_wrap(e.left, _CONCAT)} {e.op} {_wrap(e.right, _CONCAT)}", _PRED
        return f"{_wrap(e.left, level)} {e.op} {_wrap(e.right, level + 1)}", level
    if isinstance(e, ast.IsNull):
        return f"{_wrap(e.expr, _CONCAT)} is {'not ' if e.negated else ''}null", _PRED
    if isinstance(e, ast.InList):
        items = ", ".join(expr(i) for i in e.items)
        return f"{_wrap(e.expr, _CONCAT)} {'not ' if e.negated else ''}in ({items})", _PRED
    if isinstance(e, ast.Between):
        return (f"{_wrap(e.expr, _CONCAT)} {'not ' if e.negated else ''}between {_wrap(e.low, _CONCAT)} and "
                f"{_wrap(e.high, _CONCAT)}"), _PRED
    if isinstance(e, ast.Extract):
        return f"extract({e.field} from {expr(e.expr)})", _ATOM
    if isinstance(e, ast.Like):
        op = f"{'not ' if e.negated else ''}{'ilike' if e.ignore_case else 'like'}"
        return f"{_wrap(e.expr, _CONCAT)} {op} {_wrap(e.pattern, _CONCAT)}", _PRED
    if isinstance(e, ast.Case):
        parts = " ".join(f"when {expr(c)} then {expr(v)}" for c, v in e.whens)
        tail = f" else {expr(e.else_)}" if e.else_ is not None else ""
        return f"case {parts}{tail} end", _ATOM
    if isinstance(e, ast.Cast):
        return f"cast({expr(e.expr)} as {type_name(e.type)})", _ATOM
    if isinstance(e, ast.Call):
        inner = "*" if e.star else ", ".join(arg(a) for a in e.args)
        where = f" filter (where {expr(e.filter)})" if e.filter is not None else ""
        return f"{e.name}({inner}){where}", _ATOM
    raise TypeError(f"cannot format {type(e).__name__}")


def _negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value < 0


def _literal(e: ast.Literal) -> str:
    if e.kind == "null" or e.value is None:
        return "null"
    if e.kind == "bool":
        return "true" if e.value else "false"
    if e.kind == "string":
        return string(str(e.value))
    if e.kind == "float":
        text = repr(float(e.value))  # type: ignore[arg-type]
        return text if ("." in text or "e" in text) else text + ".0"
    return str(e.value)


def _in_list_position(e: ast.Expr) -> str:
    """Items and arguments: after a name, `=` would start `name = value`, so comparisons get parentheses."""
    text = expr(e)
    return f"({text})" if isinstance(e, ast.Binary) and e.op == "=" else text


def arg(a: ast.Arg) -> str:
    value = _in_list_position(a.value)
    return f"{a.name} = {value}" if a.name else value


def item(i: ast.Item) -> str:
    value = _in_list_position(i.expr)
    return f"{ident(i.name)} = {value}" if i.name else value


def type_name(t: ast.TypeName) -> str:
    return t.name + (f"({', '.join(str(p) for p in t.params)})" if t.params else "")


def connector(c: ast.Connector) -> str:
    return f"{c.name}({', '.join(arg(a) for a in c.args)})"


# ---------------------------------------------------------------- pipelines and declarations


def relation(r: ast.Relation) -> str:
    if isinstance(r, ast.RelationRef):
        return ident(r.name)
    return "(" + " | ".join([relation(r.start)] + [stage(s) for s in r.stages]) + ")"


def stage(s: ast.Stage) -> str:
    if isinstance(s, ast.Where):
        return f"where {expr(s.predicate)}"
    if isinstance(s, ast.Select | ast.Derive):
        word = "select" if isinstance(s, ast.Select) else "derive"
        return f"{word} {', '.join(item(i) for i in s.items)}"
    if isinstance(s, ast.Window):
        return f"window {expr(s.call)}"
    if isinstance(s, ast.Aggregate):
        by = f" by {', '.join(expr(k) for k in s.by)}" if s.by else ""
        return f"aggregate {', '.join(item(i) for i in s.items)}{by}"
    if isinstance(s, ast.Join):
        alias = f" as {ident(s.alias)}" if s.alias else ""
        word = "left join" if s.kind == "left" else "join"
        return f"{word} {relation(s.relation)}{alias} on {expr(s.on)}"
    if isinstance(s, ast.Distinct):
        return f"distinct {', '.join(expr(k) for k in s.keys)}"
    if isinstance(s, ast.Top):
        order = "" if s.descending else " asc"
        per = f" per {', '.join(expr(k) for k in s.per)}" if s.per else ""
        return f"top {s.n} by {expr(s.by)}{order}{per}"
    if isinstance(s, ast.Union_):
        return f"union {relation(s.relation)}"
    if isinstance(s, ast.Emit):
        return f"emit {s.mode}"
    raise TypeError(f"cannot format {type(s).__name__}")


def _columns(cols: tuple[ast.ColumnDef, ...], extra: list[str]) -> list[str]:
    width = max((len(ident(c.name)) for c in cols), default=0)
    lines = [f"    {ident(c.name).ljust(width)} {type_name(c.type)}," for c in cols]
    return lines + [f"    {x}," for x in extra]


def declaration(d: ast.Decl) -> str:
    if isinstance(d, ast.SourceDecl):
        lines = [f"source {ident(d.name)} (", *_columns(d.columns, []), ")", f"from {connector(d.connector)}"]
        if d.event_time is not None:
            wm = format_duration(d.watermark.micros) if d.watermark is not None else "0s"
            lines.append(f"event_time {ident(d.event_time)} watermark {wm}")
        for word, policy in (("on_late", d.on_late), ("on_error", d.on_error)):
            if isinstance(policy, str):
                lines.append(f"{word} {policy}")
            elif policy is not None:
                lines.append(f"{word} into {connector(policy)}")
        return "\n".join(lines)
    if isinstance(d, ast.TableDecl):
        key = f"primary key ({', '.join(ident(k) for k in d.primary_key)})"
        return "\n".join([f"table {ident(d.name)} (", *_columns(d.columns, [key]), ")",
                          f"from {connector(d.connector)}"])
    if isinstance(d, ast.ViewDecl):
        head = f"view {ident(d.name)} = {relation(d.pipeline.start)}"
        return "\n".join([head] + [f"    | {stage(s)}" for s in d.pipeline.stages])
    if isinstance(d, ast.SinkDecl):
        return f"sink {ident(d.view)} into {connector(d.connector)}"
    raise TypeError(f"cannot format {type(d).__name__}")


def format_program(program: ast.Program) -> str:
    return "\n\n".join(declaration(d) for d in program.decls) + "\n"


# ---------------------------------------------------------------- keeping comments


def comments_by_line(text: str) -> dict[int, str]:
    """Line number -> the comment on that line (`# ...`), ignoring `#` inside strings and names."""
    out: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        quote = None
        for i, ch in enumerate(line):
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'`":
                quote = ch
            elif ch == "#":
                out[number] = line[i:].rstrip()
                break
    return out


def format_source(program: ast.Program, text: str) -> str:
    """Format a parsed program, keeping every comment of its original text."""
    comments = comments_by_line(text)
    starts = [d.span.line if d.span else 0 for d in program.decls]
    ends = starts[1:] + [10**9]
    chunks: list[str] = []
    taken: set[int] = set()
    for d, start, end in zip(program.decls, starts, ends, strict=True):
        above = [n for n in sorted(comments) if n < start and n not in taken]
        inside = [n for n in sorted(comments) if start <= n < end]
        taken.update(above + inside)
        lead = [comments[n] for n in above + inside]
        chunks.append("\n".join(lead + [declaration(d)]))
    trailing = [comments[n] for n in sorted(comments) if n not in taken]
    body = "\n\n".join(chunks)
    if trailing:
        body = (body + "\n\n" if body else "") + "\n".join(trailing)
    return body + "\n"
