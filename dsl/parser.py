"""The .flow parser: text -> flowc.dsl.ast, with spans, and every syntax error of a file at once.

    parse(text, file)            -> ast.Program
    parse_file(path)             -> ast.Program
    parse_expression(text, file) -> ast.Expr      (the Python DSL's `bids.where("price > 10")`)

The grammar (grammar/flow.lark) is LALR(1), built once per process. A file that parses is turned
into the AST directly. A file that does not is re-parsed one declaration at a time (a declaration
starts with `source`, `table`, `view` or `sink` at column 1), so each broken declaration gets its
own error and the good ones are still checked.
"""

from __future__ import annotations

import functools
import os
import re

from flowc.compiler.diagnostics import Diagnostic, FlowError, did_you_mean
from flowc.compiler.span import SOURCES, Span
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import ast
from .syntax_errors import DECL_KEYWORDS, SyntaxErrorDescriber
from .syntax_tree import AstBuilder

__all__ = ["parse", "parse_file", "parse_expression"]

# A line whose first word, at column 1, is (nearly) a declaration keyword starts a declaration.
_LINE_START_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)", re.M)
# Clauses that continue a source at column 1 (as in the examples), never a new declaration.
_CONTINUATIONS = {"from", "event_time", "on_late", "on_error", "watermark", "and", "or", "not"}


class _AlwaysLexNames:
    """Lark post-lexer that keeps NAME in every lexer state. Without it a state that only accepts
    keywords would split `sourcex` into `source` `x`; with it the word stays whole and is reported
    as an unexpected name (with a did-you-mean hint)."""

    always_accept = ("NAME",)

    def process(self, stream):
        return stream


@functools.cache
def _lark() -> Lark:
    # cache=True keeps the built LALR tables in a file in the temp directory (keyed by the grammar's
    # hash), which takes about 80 ms off every `flowc` command after the first.
    return Lark.open_from_package(
        "flowc.grammar", "flow.lark", ("",),
        parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True,
        start=["start", "expr_start"], postlex=_AlwaysLexNames(), cache=True,
    )


@functools.cache
def _describer() -> SyntaxErrorDescriber:
    return SyntaxErrorDescriber(_lark())


def parse(text: str, file: str = "<input>") -> ast.Program:
    """Parse a whole .flow program. Raises FlowError with all syntax errors of the text."""
    text = text.removeprefix("\ufeff")  # a UTF-8 byte order mark (editors on Windows write one)
    SOURCES.add(file, text)
    base_dir = os.path.dirname(file) or "."
    try:
        tree = _lark().parse(text, start="start")
    except UnexpectedInput:
        raise FlowError(_diagnose(text, file)) from None
    builder = AstBuilder(file)
    decls = builder.transform(tree)
    if builder.errors:
        raise FlowError(builder.errors)
    return ast.Program(decls, file=file, base_dir=base_dir)


def parse_file(path: str) -> ast.Program:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)


def parse_expression(text: str, file: str = "<expr>") -> ast.Expr:
    """Parse one expression in .flow syntax, e.g. "price > 10 and channel <> 'web'".

    Spans are relative to `text`, registered under `file` so carets quote it; a `file` that names a
    real file on disk (a Python caller) is not overwritten in the registry."""
    if not os.path.isfile(file):
        SOURCES.add(file, text)
    try:
        tree = _lark().parse(text, start="expr_start")
    except UnexpectedInput:
        diag, _ = _parse_one(text, file, "expr_start", end_word="the end of the expression")
        raise FlowError([diag] if diag else []) from None
    builder = AstBuilder(file)
    expr = builder.transform(tree)
    if builder.errors:
        raise FlowError(builder.errors)
    return expr


# ---------------------------------------------------------------- error recovery


def _parse_one(text: str, file: str, start: str, end_word: str = "the end of the file",
               next_word: tuple[str, Span] | None = None):
    """Parse token by token; return (first syntax error or None, tree or None)."""
    ip = _lark().parse_interactive(text, start=start)
    prev: Token | None = None
    try:
        for tok in ip.lexer_thread.lex(ip.parser_state):
            ip.feed_token(tok)
            prev = tok
        return None, ip.feed_eof(prev)
    except UnexpectedToken as e:
        # Nonterminals of the state say what kind of thing was expected ("a column type"); the
        # terminals are narrowed by trial (accepts()), as LALR merges lookaheads of different contexts.
        choices = {c for c in ip.choices() if not c.isupper()} | ip.accepts()
        return _describer().unexpected_token(file, e.token, prev, choices, end_word, next_word), None
    except UnexpectedCharacters as e:
        return _describer().unexpected_char(file, text, e.line, e.column), None


def _declaration_starts(text: str) -> list[int]:
    starts = []
    for m in _LINE_START_WORD.finditer(text):
        word = m.group(1)
        if word in _CONTINUATIONS:
            continue
        if word in DECL_KEYWORDS or (len(word) >= 3 and did_you_mean(word.lower(), DECL_KEYWORDS) is not None):
            starts.append(m.start())
    return starts


def _diagnose(text: str, file: str) -> list[Diagnostic]:
    """All syntax errors of a text that failed to parse: one per broken declaration, plus the
    checks made while building the AST of the declarations that did parse."""
    starts = _declaration_starts(text)
    bounds = ([0] if not starts or starts[0] != 0 else []) + starts + [len(text)]
    diags: list[Diagnostic] = []
    parse_errors = 0
    for begin, end in zip(bounds, bounds[1:], strict=False):
        line0 = text.count("\n", 0, begin)
        # Blank lines in front keep every line and column where it is in the file.
        chunk = "\n" * line0 + text[begin:end]
        next_word = None
        if end < len(text):
            word = _LINE_START_WORD.match(text, end)
            if word is not None:
                line = line0 + text.count("\n", begin, end) + 1
                next_word = (word.group(1), Span(file, line, 1, line, len(word.group(1)) + 1))
        diag, tree = _parse_one(chunk, file, "start", next_word=next_word)
        if diag is not None:
            diags.append(diag)
            parse_errors += 1
        elif tree is not None:
            builder = AstBuilder(file)
            builder.transform(tree)
            diags.extend(builder.errors)
    if parse_errors == 0:
        # The split hid the error (e.g. a declaration keyword at column 1 inside a pipeline):
        # report the whole file's first error instead.
        diag, _ = _parse_one(text, file, "start")
        if diag is not None:
            diags.insert(0, diag)
    diags.sort(key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))
    return diags
