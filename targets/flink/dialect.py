"""Our Flink SQL dialect for sqlglot, which has none: the generic dialect with Flink's quoting, types
and the streaming statements, each parsed back to the same structured AST.

Flink's SQL is Calcite's: backticks quote names, `INTERVAL '5' SECOND`, `TIMESTAMP '...'` literals,
`CAST`/`TRY_CAST`. sqlglot's generic dialect reads and writes most of it once the tokenizer takes
backticks; what it lacks is added here as custom nodes (printed through TRANSFORMS, which is how
sqlglot dispatches classes that are not its own) and parser hooks:

- `TABLE(TUMBLE|HOP|SESSION|CUMULATE(TABLE t [PARTITION BY k, ...], DESCRIPTOR(ts), INTERVAL ...))`,
  the window table-valued functions (`WindowTVF`), in a FROM clause;
- `WATERMARK FOR ts AS expr` in a column list (sqlglot's `WatermarkColumnConstraint`), computed
  columns `name AS expr`, and `WITH ('key' = 'value', ...)` with quoted keys (`FlinkOption`);
- `EXECUTE STATEMENT SET BEGIN INSERT ...; ... END` (`StatementSet`), one job for every sink;
- `FOR SYSTEM_TIME AS OF t.proc_time` (sqlglot writes `FOR TIMESTAMP AS OF`);
- Flink's type names: STRING, BYTES, TIMESTAMP(p), TIMESTAMP_LTZ(p), DOUBLE.

Statements it cannot parse would become opaque `exp.Command`s: `parse_statement` refuses those, and
the tests re-parse everything we print.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp, generator, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType

# ---------------------------------------------------------------- custom nodes


class WindowTVF(exp.Expression):
    """`TABLE(<kind>(TABLE <table> [PARTITION BY ...], DESCRIPTOR(<time>), <args>...))`.
    kind: TUMBLE | HOP | SESSION | CUMULATE (a Var); args: the interval arguments in order."""

    arg_types = {"this": True, "table": True, "partition": False, "descriptor": True, "args": True,
                 "alias": False}


class StatementSet(exp.Expression):
    """`EXECUTE STATEMENT SET BEGIN <insert>; ... END`: every INSERT planned and run as one job."""

    arg_types = {"expressions": True}


class FlinkOption(exp.Property):
    """`'key' = 'value'` in a CREATE TABLE's WITH clause (Flink quotes keys as strings)."""

    arg_types = {"this": True, "value": True}


# ---------------------------------------------------------------- tokenizer


class FlinkTokenizer(tokens.Tokenizer):
    IDENTIFIERS = ["`"]
    QUOTES = ["'"]
    STRING_ESCAPES = ["'"]
    HEX_STRINGS = [("X'", "'"), ("x'", "'")]
    # EXECUTE starts a statement set, not an opaque command
    COMMANDS = tokens.Tokenizer.COMMANDS - {TokenType.EXECUTE}
    KEYWORDS = {
        **tokens.Tokenizer.KEYWORDS,
        "STRING": TokenType.TEXT,
        "BYTES": TokenType.VARBINARY,
        "TIMESTAMP_LTZ": TokenType.TIMESTAMPLTZ,
    }


# ---------------------------------------------------------------- parser

_TVF_KINDS = ("TUMBLE", "HOP", "SESSION", "CUMULATE")


class FlinkParser(parser.Parser):
    CONSTRAINT_PARSERS = {
        **parser.Parser.CONSTRAINT_PARSERS,
        "WATERMARK": lambda self: self.expression(
            exp.WatermarkColumnConstraint(
                this=self._match(TokenType.FOR) and self._parse_column(),
                expression=self._match(TokenType.ALIAS) and self._parse_disjunction(),
            )
        ),
    }

    SCHEMA_UNNAMED_CONSTRAINTS = {*parser.Parser.SCHEMA_UNNAMED_CONSTRAINTS, "WATERMARK"}

    STATEMENT_PARSERS = {
        **parser.Parser.STATEMENT_PARSERS,
        TokenType.EXECUTE: lambda self: self._parse_statement_set(),
    }

    def _parse(self, parse_method, raw_tokens, sql=None):
        # sqlglot cuts a script into statements at every `;` before parsing; the INSERTs inside
        # EXECUTE STATEMENT SET BEGIN ... END are one statement, so their `;` must stay inside it.
        self.reset()
        self.sql = sql or ""
        chunks: list[list] = [[]]
        in_set = False
        for i, token in enumerate(raw_tokens):
            chunk = chunks[-1]
            if not chunk and token.token_type == TokenType.EXECUTE:
                in_set = True
            if token.token_type == TokenType.SEMICOLON and not in_set:
                if token.comments:
                    chunks.append([token])
                if i < len(raw_tokens) - 1:
                    chunks.append([])
                continue
            chunk.append(token)
            if in_set and token.token_type == TokenType.END:
                in_set = False
        self._chunks = chunks
        return self._parse_batch_statements(parse_method=parse_method, sep_first_statement=False)

    def _parse_statement_set(self) -> exp.Expression:
        if not self._match_text_seq("STATEMENT", "SET"):
            self.raise_error("expected STATEMENT SET after EXECUTE")
        if not self._match(TokenType.BEGIN) and not self._match_text_seq("BEGIN"):
            self.raise_error("expected BEGIN")
        inserts = []
        while not (self._curr and self._curr.text.upper() == "END"):
            if self._curr is None or not self._match(TokenType.INSERT, advance=False):
                self.raise_error("a statement set holds INSERT statements only, and ends with END")
                break
            stmt = self._parse_statement()
            if not isinstance(stmt, exp.Insert):
                self.raise_error("a statement set holds INSERT statements only")
            inserts.append(stmt)
            self._match(TokenType.SEMICOLON)
        self._advance()  # END
        return self.expression(StatementSet(expressions=inserts))

    def _parse_table(self, *args, **kwargs):
        # `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL ...))` in FROM
        if (self._curr and self._curr.token_type == TokenType.TABLE and self._next
                and self._next.token_type == TokenType.L_PAREN):
            index = self._index
            self._advance(2)
            if self._curr and self._curr.text.upper() in _TVF_KINDS and self._next \
                    and self._next.token_type == TokenType.L_PAREN:
                return self._parse_window_tvf()
            self._retreat(index)
        return super()._parse_table(*args, **kwargs)

    def _parse_window_tvf(self) -> WindowTVF:
        kind = exp.var(self._curr.text.upper())
        self._advance()
        self._match_l_paren()
        if not self._match(TokenType.TABLE):
            self.raise_error("expected TABLE <name> as the window function's first argument")
        table = self._parse_table_parts()
        partition = None
        if self._match(TokenType.PARTITION_BY):
            # one column bare, several in parentheses (a bare comma would end the table argument)
            if self._match(TokenType.L_PAREN):
                partition = self._parse_csv(self._parse_column)
                self._match_r_paren()
            else:
                partition = [self._parse_column()]
        self._match(TokenType.COMMA)
        if not self._match_text_seq("DESCRIPTOR"):
            self.raise_error("expected DESCRIPTOR(<time column>)")
        self._match_l_paren()
        descriptor = self._parse_column()
        self._match_r_paren()
        args = []
        while self._match(TokenType.COMMA):
            args.append(self._parse_bitwise())
        self._match_r_paren()  # the function
        self._match_r_paren()  # TABLE(
        alias = self._parse_table_alias()
        return self.expression(WindowTVF(this=kind, table=table, partition=partition, descriptor=descriptor,
                                         args=args, alias=alias))

    def _parse_property(self):
        # `'connector' = 'filesystem'`: a string key is one of Flink's table options
        if self._curr and self._curr.token_type == TokenType.STRING and self._next \
                and self._next.token_type == TokenType.EQ:
            key = exp.Literal.string(self._curr.text)
            self._advance(2)
            value = self._parse_string()
            return self.expression(FlinkOption(this=key, value=value))
        return super()._parse_property()


# ---------------------------------------------------------------- generator


def _window_tvf_sql(self: FlinkGenerator, e: WindowTVF) -> str:
    table = f"TABLE {self.sql(e, 'table')}"
    partition = e.args.get("partition")
    if partition:
        keys = ", ".join(self.sql(p) for p in partition)
        table += f" PARTITION BY {keys}" if len(partition) == 1 else f" PARTITION BY ({keys})"
    args = [table, f"DESCRIPTOR({self.sql(e, 'descriptor')})"] + [self.sql(a) for a in e.args["args"]]
    alias = self.sql(e, "alias")
    return f"TABLE({self.sql(e, 'this')}({', '.join(args)}))" + (f" AS {alias}" if alias else "")


def _statement_set_sql(self: FlinkGenerator, e: StatementSet) -> str:
    inserts = "".join(f"{self.sql(i)};{self.sep()}" for i in e.expressions)
    return f"EXECUTE STATEMENT SET{self.sep()}BEGIN{self.sep()}{inserts}END"


class FlinkGenerator(generator.Generator):
    TYPE_MAPPING = {
        **generator.Generator.TYPE_MAPPING,
        exp.DataType.Type.TEXT: "STRING",
        exp.DataType.Type.VARBINARY: "BYTES",
        exp.DataType.Type.TIMESTAMPLTZ: "TIMESTAMP_LTZ",
        exp.DataType.Type.DOUBLE: "DOUBLE",
    }

    TRANSFORMS = {
        **generator.Generator.TRANSFORMS,
        WindowTVF: _window_tvf_sql,
        StatementSet: _statement_set_sql,
        FlinkOption: lambda self, e: f"{self.sql(e, 'this')} = {self.sql(e, 'value')}",
        exp.Array: lambda self, e: f"ARRAY[{self.expressions(e, flat=True)}]",
    }

    PROPERTIES_LOCATION = {
        **generator.Generator.PROPERTIES_LOCATION,
        FlinkOption: exp.Properties.Location.POST_SCHEMA,
    }

    def properties_sql(self, expression: exp.Properties) -> str:
        options = [p for p in expression.expressions if isinstance(p, FlinkOption)]
        if options and len(options) == len(expression.expressions):
            return self.properties(exp.Properties(expressions=options), prefix=self.seg("WITH", sep=""))
        return super().properties_sql(expression)

    def version_sql(self, expression: exp.Version) -> str:
        # Flink knows FOR SYSTEM_TIME AS OF only; stock sqlglot prints FOR TIMESTAMP AS OF.
        name = "SYSTEM_TIME" if expression.name.upper() == "TIMESTAMP" else expression.name
        return f"FOR {name} {expression.text('kind')} {self.sql(expression, 'expression')}"


class Flink(Dialect):
    Tokenizer = FlinkTokenizer
    Parser = FlinkParser
    Generator = FlinkGenerator


DIALECT = Flink()


def to_sql(e: exp.Expression, pretty: bool = True) -> str:
    """Print in our Flink dialect, quoting every name; what it cannot express raises."""
    return DIALECT.generate(e, pretty=pretty, identify=True, unsupported_level=ErrorLevel.RAISE)


def parse_statement(sql: str) -> exp.Expression:
    """Parse one statement written in our dialect; an opaque `exp.Command` is refused."""
    e = sqlglot.parse_one(sql, dialect=DIALECT, error_level=ErrorLevel.RAISE)
    if isinstance(e, exp.Command) or any(isinstance(n, exp.Command) for n in e.walk()):
        raise ValueError(f"our Flink dialect read this as an opaque command: {sql[:200]}")
    return e


def parse_script(sql: str) -> list[exp.Expression]:
    """Every statement of a script in our dialect (`;`-separated)."""
    out = []
    for e in sqlglot.parse(sql, dialect=DIALECT, error_level=ErrorLevel.RAISE):
        if e is None:
            continue
        if isinstance(e, exp.Command) or any(isinstance(n, exp.Command) for n in e.walk()):
            raise ValueError("our Flink dialect read a statement as an opaque command")
        out.append(e)
    return out


__all__ = ["Flink", "DIALECT", "WindowTVF", "StatementSet", "FlinkOption", "to_sql", "parse_statement",
           "parse_script"]
