"""Run a contract example folder (fence.toml, fixes.jsonl.gz) through the evaluator."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from events.evaluator import Evaluator
from events.model import Event
from events.output import event_to_obj
from gnss.fix import Fix
from gnss.fixjson import FixLineError, parse_fix_line
from zones.model import Site
from zones.site import load_site

CONTRACT_KEYS = ("t", "type", "state", "zone", "terminal", "count", "limit")


def fixes(path: Path) -> Iterator[Fix]:
    """The valid fixes of a (gzipped) fix log, in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                yield parse_fix_line(line)
            except FixLineError:
                continue


def contract_rows(objs: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """Events reduced to the contract keys, as a multiset."""
    return Counter(tuple(o.get(k) for k in CONTRACT_KEYS) for o in objs)


def run_example(folder: Path) -> tuple[Site, list[Event]]:
    """All events of the example's fixes, in emission order."""
    site = load_site(folder / "fence.toml")
    ev = Evaluator(site)
    out: list[Event] = []
    for fix in fixes(folder / "fixes.jsonl.gz"):
        out += ev.feed(fix)
    return site, out


def expected(folder: Path) -> Counter[tuple[Any, ...]]:
    """The example's expected events as a multiset."""
    lines = (folder / "expected-events.jsonl").read_text().splitlines()
    return contract_rows([json.loads(line) for line in lines if line.strip()])


def got(site: Site, events: list[Event]) -> Counter[tuple[Any, ...]]:
    """Our events as a multiset of contract rows."""
    return contract_rows([event_to_obj(e, site) for e in events])
