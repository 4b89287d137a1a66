"""Syntax errors in user terms: what was found, what was expected, and a hint.

Lark reports terminal names (RPAR, __ANON_3). Here they become words: the parser state's possible
continuations are read from the LALR table, where a nonterminal such as `col_type` or `stage` turns
into "a column type" or "a pipeline stage", and the remaining terminals are quoted or grouped
("an operator", "a new declaration").
"""

from __future__ import annotations

from collections.abc import Iterable

from flowc.compiler.diagnostics import Code, Diagnostic, did_you_mean
from flowc.compiler.span import Span
from flowc.compiler.types import TYPE_NAMES
from lark import Lark, Token

DECL_KEYWORDS = ("source", "table", "view", "sink")
STAGE_KEYWORDS = ("where", "select", "derive", "window", "aggregate", "join", "left", "distinct", "top",
                  "union", "emit")

# The first nonterminal found among a state's continuations names what is expected; most specific first.
_NONTERMINAL_WORDS: tuple[tuple[str, str], ...] = (
    ("col_type", "a column type"),
    ("connector", "a connector such as csv('file.csv')"),
    ("stage", "a pipeline stage (where, select, derive, window, aggregate, [left] join, distinct, top, union, emit)"),
    ("table_elem", "a column name or 'primary key (...)'"),
    ("column_def", "a column name"),
    ("relation", "a relation: a source, table or view name, or a parenthesized pipeline"),
    ("item", "a column, an expression or 'name = expression'"),
    ("arg", "an argument"),
    ("expr", "an expression"),
    ("or_expr", "an expression"),
    ("and_expr", "an expression"),
    ("not_expr", "an expression"),
    ("predicate", "an expression"),
    ("concat", "an expression"),
    ("sum", "an expression"),
    ("product", "an expression"),
    ("unary", "an expression"),
    ("atom", "an expression"),
    ("call", "a window such as tumble(ts, 10s), hop(ts, size = 10s, slide = 5s) or session(ts, gap = 5s)"),
    ("ident_list", "a column name"),
    ("pipeline", "a pipeline such as: bids | where price > 10"),
)

_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": "a string",
    "INT": "a whole number",
    "FLOAT": "a number",
    "DURATION": "a duration such as 5s",
}

# When only a name can come next, the keyword before it says which name.
_NAME_AFTER = {
    "source": "a source name",
    "table": "a table name",
    "view": "a view name",
    "sink": "the name of the view to write",
    "as": "an alias",
    "event_time": "the event time column",
}

# Terminals that can only all be expected where an expression starts (right after an operator).
_EXPRESSION_STARTS = {"NAME", "INT", "STRING", "case", "cast", "("}

_OPERATORS = {"+", "-", "*", "/", "%", "||", "=", "==", "<>", "!=", "<", "<=", ">", ">=", "and", "or", "is",
              "in", "not", "between"}


def _join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SyntaxErrorDescriber:
    """Builds Diagnostics from lark's UnexpectedToken / UnexpectedCharacters for one grammar."""

    def __init__(self, lark: Lark):
        # anonymous string terminals ("where", ",", "||") by their generated names
        self.literal = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}

    # ------------------------------------------------------------ unexpected token

    def unexpected_token(self, file: str, token: Token, prev: Token | None, choices: Iterable[str],
                         end_word: str = "the end of the file", next_word: tuple[str, Span] | None = None
                         ) -> Diagnostic:
        """`choices`: the terminal and nonterminal names the parser state could continue with.
        `next_word`: for a declaration parsed alone, the word and span that follow it in the file,
        reported instead of the end of the declaration's text."""
        choices = set(choices)
        expected = self.describe_expected(choices, prev)
        if token.type == "$END":
            if next_word is not None:
                found, span = f"'{next_word[0]}'", next_word[1]
            else:
                found = end_word
                span = (Span(file, prev.end_line, prev.end_column, prev.end_line, prev.end_column + 1)
                        if prev is not None else Span(file, 1, 1, 1, 2))
        else:
            found = self.describe_found(token)
            span = Span(file, token.line, token.column, token.end_line, token.end_column)
        after = f" after '{_short(str(prev))}'" if prev is not None else ""
        message = f"expected {expected}{after}, found {found}"
        return Diagnostic(Code.SYNTAX, message, span, self._hint(token, prev, choices, next_word))

    def describe_found(self, token: Token) -> str:
        value = str(token)
        if token.type == "NAME":
            return f"name '{value}'"
        if token.type == "QUOTED_NAME":
            return f"name {value}"
        if token.type in ("INT", "FLOAT"):
            return f"number {value}"
        if token.type == "STRING":
            return f"string {_short(value)}"
        if token.type == "DURATION":
            return f"duration {value}"
        if value.isidentifier():
            return f"keyword '{value}'"
        return f"'{value}'"

    def describe_expected(self, choices: set[str], prev: Token | None = None) -> str:
        for nonterminal, words in _NONTERMINAL_WORDS:
            if nonterminal in choices:
                return words
        terminals = [c for c in choices if c.isupper() or c == "$END"]
        if _EXPRESSION_STARTS <= set(terminals) | {self.literal.get(t) for t in terminals}:
            return "an expression"
        if set(terminals) <= {"NAME", "QUOTED_NAME"} and "NAME" in terminals and prev is not None:
            return _NAME_AFTER.get(str(prev), "a name")
        if "NAME" in terminals and "QUOTED_NAME" in terminals:
            terminals.remove("QUOTED_NAME")
        if "INT" in terminals and "FLOAT" in terminals:
            terminals.remove("INT")
        literals = {self.literal[t] for t in terminals if t in self.literal}
        words: list[str] = []
        operators = literals & _OPERATORS
        grouped_ops = len(operators) >= 3
        decls = set(DECL_KEYWORDS) <= literals
        for t in sorted(terminals, key=self._order):
            if t in _TERMINAL_WORDS:
                words.append(_TERMINAL_WORDS[t])
            elif t in self.literal:
                value = self.literal[t]
                if (grouped_ops and value in operators) or (decls and value in DECL_KEYWORDS):
                    continue
                words.append(f"'{value}'")
        if grouped_ops:
            words.append("an operator")
        if decls:
            words.append("a new declaration")
        elif "$END" in terminals:
            words.append("the end")
        return _join_words(words) or "something else"

    def _order(self, terminal: str) -> tuple[int, str]:
        # punctuation that closes something first: the likeliest fix when a list is left open
        value = self.literal.get(terminal, terminal)
        rank = {")": 0, ",": 1, "|": 3}.get(value, 2)
        return rank, value

    def _hint(self, token: Token, prev: Token | None, choices: set[str],
              next_word: tuple[str, Span] | None) -> str | None:
        value = str(token)
        keywords = sorted({self.literal[c] for c in choices if c in self.literal and self.literal[c].isidentifier()})
        if "decl" in choices and not keywords:
            keywords = list(DECL_KEYWORDS)
        if token.type == "NAME" and keywords:
            if value.lower() in keywords:
                return f"keywords are lower case: write '{value.lower()}'"
            guess = did_you_mean(value, keywords)
            if guess is not None:
                return f"did you mean '{guess}'?"
        if "col_type" in choices:
            return "column types: " + ", ".join(TYPE_NAMES)
        if "DURATION" in choices and token.type in ("INT", "FLOAT"):
            return "a duration is a number and a unit with no space between them, e.g. 5s; units: us, ms, s, min, h, d"
        if "stage" in choices and token.type == "NAME":
            return "stages: " + ", ".join(STAGE_KEYWORDS)
        comma = next((c for c in choices if self.literal.get(c) == ","), None)
        if comma is not None and token.type in ("NAME", "QUOTED_NAME") and prev is not None:
            return "separate list items with ','"
        if token.type == "$END" and next_word is not None:
            return f"the declaration before '{next_word[0]}' is incomplete"
        return None

    # ------------------------------------------------------------ unexpected character

    def unexpected_char(self, file: str, text: str, line: int, col: int) -> Diagnostic:
        lines = text.splitlines()
        source_line = lines[line - 1] if 0 < line <= len(lines) else ""
        ch = source_line[col - 1] if 0 < col <= len(source_line) else ""
        rest_span = Span(file, line, col, line, max(len(source_line) + 1, col + 1))
        if ch == "'":
            return Diagnostic(Code.UNTERMINATED_STRING, "unterminated string", rest_span,
                              "close the string with ' on the same line; write '' for a quote inside it")
        if ch == "`":
            return Diagnostic(Code.UNTERMINATED_STRING, "unterminated `quoted name`", rest_span,
                              "close the name with ` on the same line")
        if ch == '"':
            close = source_line.find('"', col)
            if close < 0:
                return Diagnostic(Code.UNEXPECTED_CHAR, "unexpected character '\"'", rest_span,
                                  "strings use single quotes: 'like this'")
            content = source_line[col:close]
            span = Span(file, line, col, line, close + 2)
            return Diagnostic(Code.UNEXPECTED_CHAR, "unexpected character '\"'", span,
                              f"strings use single quotes: '{content}' (a name with spaces uses backticks: `{content}`)")
        hints = {
            ";": "declarations and stages need no ';'",
            "[": "lists are written in parentheses: x in (1, 2)",
            "{": "lists are written in parentheses: x in (1, 2)",
            "&": "write 'and'",
            "!": "write 'not', or '<>' for not equal",
            "$": "names are letters, digits and '_'; any other name goes in backticks",
            "@": "names are letters, digits and '_'; any other name goes in backticks",
        }
        shown = ch if ch.isprintable() else repr(ch)
        span = Span(file, line, col, line, col + 1)
        return Diagnostic(Code.UNEXPECTED_CHAR, f"unexpected character '{shown}'", span, hints.get(ch))
