"""The simulator's Python API: messages of N terminals in time order, without a clock.

    sim = Simulator(site, seed=7, start_ms=t0)               # free-running terminals
    sim = Simulator(site, seed=7, start_ms=t0, scenario=Scenario.ALL_EVENTS)
    for msg in sim.messages(until_ms=t0 + 60_000):
        msg.terminal, msg.payload, msg.t_ms                    # one epoch of one terminal

``fix_log_lines`` gives contract fix JSON lines for a duration (replay golden tests).
Only ``fence.simulate.pacing`` looks at the wall clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from fence.simulate.model import (
    Model,
    Part,
    Role,
    Sample,
    SiteLayout,
    cast_terminals,
    check_timing,
    default_part,
    terminal_rng,
)
from fence.simulate.scenario import Scenario, scenario_parts
from fence.simulate.wire import DEFAULT_FAULTS, Damage, Faults, Format, Wire
from gnss.fix import Fix
from gnss.fixjson import fix_to_line
from zones.model import Site


@dataclass(frozen=True, slots=True)
class Message:
    """One epoch of one terminal as it goes on the wire."""

    terminal: str
    payload: bytes
    t_ms: int
    fix: Fix  # the fix the payload is meant to carry
    damage: Damage


class Simulator:
    """N simulated terminals on a site; a pure function of its arguments."""

    def __init__(
        self,
        site: Site,
        *,
        start_ms: int,
        seed: int = 0,
        n_terminals: int | None = None,
        step_ms: int = 1000,
        fmt: Format = Format.NMEA,
        faults: Faults = DEFAULT_FAULTS,
        stagger: bool = False,
        scenario: Scenario | None = None,
    ) -> None:
        check_timing(start_ms, step_ms)
        self.site = site
        self.seed = seed
        self.start_ms = start_ms
        self.step_ms = step_ms
        self.fmt = fmt
        self.faults = faults
        self.stagger = stagger
        self.scenario = scenario
        self.layout = SiteLayout(site)
        self.terminals = cast_terminals(site, n_terminals)
        parts, self.duration_s, self.missing = self._parts()
        self.roles: tuple[Role, ...] = tuple(p.role for p in parts)

    def _parts(self) -> tuple[list[Part], float | None, tuple[str, ...]]:
        """Fresh plans for every terminal (plans are consumed as the model runs), the
        scenario's length and the event types it cannot produce on this site."""
        if self.scenario is None:
            parts = [default_part(self.layout, self.seed, t, self.start_ms) for t in self.terminals]
            return parts, None, ()
        plan = scenario_parts(self.scenario, self.layout, self.seed, self.terminals, self.start_ms)
        return list(plan.parts), plan.duration_s, plan.missing

    def _run(self, only: Collection[str] | None) -> tuple[Model, dict[str, Wire]]:
        parts, _, _ = self._parts()
        model = Model(self.layout, self.seed, self.start_ms, self.step_ms, parts,
                      stagger=self.stagger, only=only)
        wires = {
            p.role.terminal.id: Wire(self.fmt, self.faults,
                                     terminal_rng(self.seed, p.role.terminal.id, "wire"))
            for p in parts
        }
        return model, wires

    def samples(
        self, until_ms: int | None = None, terminals: Collection[str] | None = None
    ) -> Iterator[Sample]:
        """Intended reports in time order, up to (not including) ``until_ms`` (None: endless),
        of every terminal or only of ``terminals`` (the others are not computed).

        Every call starts again at ``start_ms`` and gives the same samples.
        """
        model, _ = self._run(terminals)
        yield from _until(model, until_ms)

    def messages(
        self, until_ms: int | None = None, terminals: Collection[str] | None = None
    ) -> Iterator[Message]:
        """Payloads in time order, up to (not including) ``until_ms`` (None: endless),
        of every terminal or only of ``terminals`` (the others are not computed, so
        several processes can share a load run).

        Every call starts again at ``start_ms`` and gives the same bytes.
        """
        model, wires = self._run(terminals)
        for sample in _until(model, until_ms):
            payload, damage = wires[sample.terminal].payload(sample)
            yield Message(sample.terminal, payload, sample.t_ms, sample.fix(), damage)


def _until(model: Model, until_ms: int | None) -> Iterator[Sample]:
    for epoch in model.epochs():
        for sample in epoch:
            if until_ms is not None and sample.t_ms >= until_ms:
                return
            yield sample


def fix_log_lines(sim: Simulator, duration_s: float) -> Iterator[str]:
    """Contract fix JSON lines (no newline) of the first ``duration_s`` of a simulation."""
    until_ms = sim.start_ms + round(duration_s * 1000)
    for sample in sim.samples(until_ms):
        yield fix_to_line(sample.fix())
