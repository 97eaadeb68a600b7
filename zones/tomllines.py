"""Line numbers of keys in a TOML text, for error messages (``tomllib`` gives none).

A small scanner over the lines: table headers ``[a]``, array-of-tables headers ``[[a]]``
and ``key = value`` lines at the top of a table. Values spanning lines (arrays, inline
tables, multi-line strings) are skipped. Good enough to point a person at a line; when a
key cannot be placed, the line of its table header is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*(\.|=)""")

Path = tuple[str | int, ...]


def _strip_key(token: str) -> str:
    if token[:1] in ('"', "'"):
        return token[1:-1]
    return token


def _bracket_delta(line: str) -> tuple[int, bool]:
    """Net bracket depth change of a value line, ignoring strings and comments.

    Returns (delta, opens_multiline_string).
    """
    depth = 0
    i = 0
    while i < len(line):
        ch = line[i]
        if line.startswith('"""', i) or line.startswith("'''", i):
            quote = line[i : i + 3]
            end = line.find(quote, i + 3)
            if end < 0:
                return depth, True
            i = end + 3
            continue
        if ch in ('"', "'"):
            end = i + 1
            while end < len(line) and line[end] != ch:
                end += 2 if ch == '"' and line[end] == "\\" else 1
            i = end + 1
            continue
        if ch == "#":
            break
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth, False


@dataclass
class TomlLines:
    """Where each table and key of a TOML text starts (1-based lines)."""

    lines: dict[Path, int] = field(default_factory=dict)

    @classmethod
    def scan(cls, text: str) -> TomlLines:
        """Scan a TOML text."""
        found = cls()
        table: Path = ()
        counters: dict[str, int] = {}
        depth = 0
        in_string: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string is not None:
                if in_string in line:
                    in_string = None
                continue
            if depth > 0:
                delta, _ = _bracket_delta(line)
                depth += delta
                continue
            header = _HEADER.match(line)
            if header is not None and not _KEY.match(line):
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    index = counters.get(name, 0)
                    counters[name] = index + 1
                    table = (name, index)
                else:
                    table = (name,)
                found.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key is None:
                continue
            found.lines.setdefault((*table, _strip_key(key.group(1))), number)
            value = line[line.find("=") + 1 :]
            delta, opens = _bracket_delta(value)
            depth = max(delta, 0)
            if opens:
                in_string = '"""' if '"""' in value else "'''"
        return found

    def line_of(self, path: Path) -> int:
        """The line of ``path``, else of its nearest enclosing table, else 1."""
        for end in range(len(path), 0, -1):
            number = self.lines.get(path[:end])
            if number is not None:
                return number
        return 1
