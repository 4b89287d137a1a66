"""Our RisingWave sqlglot dialect: the stock `risingwave` dialect plus the streaming DDL it lacks.

sqlglot 30.30's RisingWave dialect cannot express `EMIT ON WINDOW CLOSE`, `APPEND ONLY`,
`CREATE SINK ... FROM rel`, `SESSION WITH GAP` frames, and regenerates `FOR SYSTEM_TIME AS OF` as
`FOR TIMESTAMP AS OF` (reference risingwave.md §2.1/§2.2). Statements it cannot parse silently
become opaque `exp.Command`s. This subclass adds custom expression nodes, registers them in the
generator's TRANSFORMS (sqlglot only dispatches `<key>_sql` for its own classes, §2.3), and adds
parser hooks so that everything we print parses back to the same structured AST.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType

# ---------------------------------------------------------------- custom nodes


class EmitOnWindowClose(exp.Expression):
    """`<query> EMIT ON WINDOW CLOSE`. Wrapping the query (not a property) puts the clause in the
    right place for both statements: after the query of an MV, before the WITH of a sink."""

    arg_types = {"this": True}


class AppendOnlyProperty(exp.Property):
    """`APPEND ONLY` after a CREATE TABLE column list."""

    arg_types: dict = {}


class SinkFromProperty(exp.Property):
    """`CREATE SINK s FROM rel`: sink an existing relation (stock sqlglot turns it into AS SELECT *,
    which loses `snapshot = 'false'`)."""

    arg_types = {"this": True}


class FormatEncodeProperty(exp.Property):
    """`FORMAT f ENCODE e [(k = 'v', ...)] [KEY ENCODE k]`, one clause so it prints on one line."""

    arg_types = {"this": True, "encode": True, "options": False, "key_encode": False}


class SessionGap(exp.Expression):
    """The `SESSION WITH GAP g` frame of a window function (`exp.WindowSpec(kind=SessionGap)`)."""

    arg_types = {"this": True}


# ---------------------------------------------------------------- parser


def _parse_format_encode(self: RisingWaveParser) -> FormatEncodeProperty:
    fmt = self._parse_var_or_string()
    if not self._match_text_seq("ENCODE"):
        self.raise_error("Expected ENCODE after FORMAT")
    encode = self._parse_var_or_string()
    options = None
    if self._match(TokenType.L_PAREN, advance=False):
        options = exp.Properties(expressions=self._parse_wrapped_properties())
    key_encode = None
    if self._match_text_seq("KEY", "ENCODE"):
        key_encode = self._parse_var_or_string()
    return self.expression(FormatEncodeProperty(this=fmt, encode=encode, options=options,
                                                key_encode=key_encode))


def _parse_sink_from(self: RisingWaveParser) -> SinkFromProperty | None:
    index = self._index
    table = self._parse_table_parts()
    # `CREATE TABLE t (...) FROM cdc_source TABLE '...'` is a different clause we do not model.
    if table is None or self._match(TokenType.TABLE, advance=False):
        self._retreat(index - 1)
        return None
    return self.expression(SinkFromProperty(this=table))


class RisingWaveParser(sqlglot.dialects.RisingWave.Parser):
    PROPERTY_PARSERS = {
        **sqlglot.dialects.RisingWave.Parser.PROPERTY_PARSERS,
        "APPEND": lambda self: self._match_text_seq("ONLY") and self.expression(AppendOnlyProperty()),
        "FORMAT": _parse_format_encode,
        "FROM": _parse_sink_from,
    }

    def _parse_table_alias(self, alias_tokens=None):
        # `... FROM mv EMIT ON WINDOW CLOSE`: EMIT is not an alias of mv.
        if self._curr and self._curr.text.upper() == "EMIT" and self._next and self._next.token_type == TokenType.ON:
            return None
        return super()._parse_table_alias(alias_tokens)

    def _parse_ddl_select(self) -> exp.Expr | None:
        query = super()._parse_ddl_select()
        if query is not None and self._match_text_seq("EMIT", "ON", "WINDOW", "CLOSE"):
            return self.expression(EmitOnWindowClose(this=query))
        return query

    def _parse_key_value_property(self, parse_value=None, optional: bool = False) -> exp.Property | None:
        # WITH keys are dotted names of any words (`nexmark.min.event.gap.in.ns` contains the keyword
        # IN). Keep them as one Var so that built and parsed properties compare equal.
        if parse_value is None and not optional:
            index = self._index
            parts: list[str] = []
            while self._curr and self._curr.token_type not in (TokenType.EQ, TokenType.R_PAREN,
                                                                 TokenType.COMMA, TokenType.STRING):
                self._advance()
                parts.append(self._prev.text)
                if not self._match(TokenType.DOT):
                    break
                parts.append(".")
            if parts and parts[-1] != "." and self._match(TokenType.EQ):
                value = self._parse_bitwise() or self._parse_var(any_token=True)
                if isinstance(value, exp.Column):
                    value = exp.var(value.name)
                return self.expression(exp.Property(this=exp.var("".join(parts)), value=value))
            self._retreat(index)
        return super()._parse_key_value_property(parse_value, optional)

    # `OVER (PARTITION BY .. ORDER BY .. SESSION WITH GAP g)`: the gap follows ORDER BY where a
    # ROWS/RANGE frame would; stock sqlglot cannot parse it. It is read right after ORDER BY and
    # attached as the Window's spec once the stock parser has built the Window.
    _session_gaps: list | None = None

    def _parse_partition_and_order(self):
        partition, order = super()._parse_partition_and_order()
        if self._match_text_seq("SESSION", "WITH", "GAP"):
            if self._session_gaps is None:
                self._session_gaps = []
            self._session_gaps.append(self.expression(SessionGap(this=self._parse_bitwise())))
        return partition, order

    def _parse_window(self, this, alias: bool = False):
        before = len(self._session_gaps or [])
        window = super()._parse_window(this, alias)
        if self._session_gaps and len(self._session_gaps) > before:
            gap = self._session_gaps.pop()
            if isinstance(window, exp.Window):
                window.set("spec", exp.WindowSpec(kind=gap))
        return window


# ---------------------------------------------------------------- generator


def _format_encode_sql(self: RisingWaveGenerator, e: FormatEncodeProperty) -> str:
    out = f"FORMAT {self.sql(e, 'this')} ENCODE {self.sql(e, 'encode')}"
    options = e.args.get("options")
    if options is not None and options.expressions:
        out += f" ({self.expressions(options, sep=', ', indent=False, flat=True)})"
    key = e.args.get("key_encode")
    if key is not None:
        out += f" KEY ENCODE {self.sql(key)}"
    return out


def _emit_sql(self: RisingWaveGenerator, e: EmitOnWindowClose) -> str:
    return f"{self.sql(e, 'this')}{self.sep()}EMIT ON WINDOW CLOSE"


class RisingWaveGenerator(sqlglot.dialects.RisingWave.Generator):
    TRANSFORMS = {
        **sqlglot.dialects.RisingWave.Generator.TRANSFORMS,
        EmitOnWindowClose: _emit_sql,
        AppendOnlyProperty: lambda self, e: "APPEND ONLY",
        FormatEncodeProperty: _format_encode_sql,
        SessionGap: lambda self, e: f"SESSION WITH GAP {self.sql(e, 'this')}",
        # `FROM rel` is printed by createable_sql; nothing at the property's own location.
        SinkFromProperty: lambda self, e: "",
    }

    PROPERTIES_LOCATION = {
        **sqlglot.dialects.RisingWave.Generator.PROPERTIES_LOCATION,
        AppendOnlyProperty: exp.Properties.Location.POST_SCHEMA,
        FormatEncodeProperty: exp.Properties.Location.POST_EXPRESSION,
        SinkFromProperty: exp.Properties.Location.POST_NAME,
    }

    def createable_sql(self, expression: exp.Create, locations) -> str:
        this = super().createable_sql(expression, locations)
        for prop in locations.get(exp.Properties.Location.POST_NAME, []):
            if isinstance(prop, SinkFromProperty):
                this += f" FROM {self.sql(prop, 'this')}"
        return this

    def property_sql(self, expression: exp.Property) -> str:
        if expression.__class__ is exp.Property:
            return f"{self.property_name(expression)} = {self.sql(expression, 'value')}"
        return super().property_sql(expression)

    def version_sql(self, expression: exp.Version) -> str:
        # RisingWave knows FOR SYSTEM_TIME / SYSTEM_VERSION only; stock sqlglot prints TIMESTAMP.
        name = "SYSTEM_TIME" if expression.name.upper() == "TIMESTAMP" else expression.name
        return f"FOR {name} {expression.text('kind')} {self.sql(expression, 'expression')}"

    def windowspec_sql(self, expression: exp.WindowSpec) -> str:
        kind = expression.args.get("kind")
        if isinstance(kind, SessionGap):
            return self.sql(kind)
        return super().windowspec_sql(expression)


class RisingWave(sqlglot.dialects.RisingWave):
    Parser = RisingWaveParser
    Generator = RisingWaveGenerator


DIALECT = RisingWave()


def to_sql(e: exp.Expression, pretty: bool = True) -> str:
    """Print with our dialect; anything the dialect cannot express raises instead of degrading."""
    return DIALECT.generate(e, pretty=pretty, unsupported_level=ErrorLevel.RAISE)


def parse_statement(sql: str) -> exp.Expression:
    """Parse one statement with our dialect (used to check that what we print re-parses)."""
    return sqlglot.parse_one(sql, dialect=DIALECT, error_level=ErrorLevel.RAISE)
