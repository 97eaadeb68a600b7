"""Line numbers of TOML keys (for messages): headers, multi-line values, strings, comments."""

from __future__ import annotations

import tomllib

from zones.tomllines import TomlLines

TEXT = '''\
# comment [not] a header
[ site ]
name = "a [b] # c"
zones = 'z.geojson'

[defaults]
still_kinds = [
  "person",   # [comment]
  "vehicle",
]
accuracy_m = { 1 = 3.0, 4 = 0.05 }
max_speed_mps = { person = 7.0 }
note = """
margin_m = 5
"""
"margin_m" = 2.0

[[terminals]]
id = "A"

[[terminals]]
id = "B"
kind = "person"
dotted.key = 1
'''


def test_lines_of_keys() -> None:
    tomllib.loads(TEXT)  # the text is valid TOML
    lines = TomlLines.scan(TEXT)
    assert lines.line_of(("site",)) == 2
    assert lines.line_of(("site", "name")) == 3
    assert lines.line_of(("site", "zones")) == 4
    assert lines.line_of(("defaults", "still_kinds")) == 7
    assert lines.line_of(("defaults", "accuracy_m")) == 11
    assert lines.line_of(("defaults", "note")) == 13
    assert lines.line_of(("defaults", "margin_m")) == 16  # not the line inside the string
    assert lines.line_of(("terminals", 0, "id")) == 19
    assert lines.line_of(("terminals", 1)) == 21
    assert lines.line_of(("terminals", 1, "kind")) == 23
    assert lines.line_of(("terminals", 1, "dotted")) == 24
    assert lines.line_of(("terminals", 1, "missing")) == 21  # falls back to the table header
    assert lines.line_of(("nowhere", "x")) == 1
