"""Source locations, kept from the parser to the last pass so every error can point at text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, end-exclusive region of one source file (or a Python call site)."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @staticmethod
    def point(file: str, line: int, col: int, width: int = 1) -> Span:
        return Span(file, line, col, line, col + width)

    def to(self, other: Span | None) -> Span:
        """The span from the start of self to the end of other."""
        if other is None or other.file != self.file:
            return self
        return Span(self.file, self.line, self.col, other.end_line, other.end_col)


class SourceRegistry:
    """Maps file names to their text, so diagnostics can quote the offending line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def add(self, file: str, text: str) -> None:
        self._texts[file] = text

    def line(self, file: str, line: int) -> str | None:
        text = self._texts.get(file)
        if text is None:
            try:
                with open(file, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                return None
            self._texts[file] = text
        lines = text.splitlines()
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


SOURCES = SourceRegistry()
