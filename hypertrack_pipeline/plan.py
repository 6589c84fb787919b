"""The one plan: what to load and what to rebuild, from what the landing zone, the warehouse and the
Dagster instance really hold. The CLI (`demo`, `materialize`, `evaluate`) and the Dagster automation
both call these functions; the Dagster layer only gathers the facts and turns the answer into runs.

State, not history: an hour is loaded when its markers' fingerprint differs from the one recorded
for it (new, or reopened and closed again); an asset is rebuilt when it is missing or older than one
of its inputs (like make), so a run that died half way leaves its assets stale and the next plan
rebuilds them — nothing is "up to date" only because it was once requested. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Node:
    """An asset of the graph as the plan sees it."""

    name: str
    deps: tuple[str, ...]
    raw: bool = False  # loaded per landing hour, never rebuilt as a whole
    training: bool = False  # part of the retrain chain


@dataclass(frozen=True)
class Facts:
    """What is true now. ``materialized`` maps an asset to the storage id (a monotonic counter) of its
    latest materialization, None when it never was; raw assets count any partition."""

    closed: Mapping[str, str]  # landing hour key -> fingerprint of its markers
    loaded: Mapping[str, str]  # hour key -> fingerprint recorded when it was loaded
    materialized: Mapping[str, int | None]
    busy: bool = False  # a pipeline run is queued or running
    model_trained_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    load: tuple[str, ...] = ()  # hour keys, sorted
    refresh: tuple[str, ...] = ()  # asset names, in dependency order
    retrain: bool = False
    reason: str = ""
    busy: bool = False  # nothing planned because a pipeline run is queued or running

    @property
    def empty(self) -> bool:
        return not self.load and not self.refresh


def hours_to_load(closed: Mapping[str, str], loaded: Mapping[str, str]) -> list[str]:
    """Closed hours the warehouse does not hold in their current version, oldest first."""
    return sorted(k for k, fp in closed.items() if loaded.get(k) != fp)


def topological(nodes: Iterable[Node]) -> list[Node]:
    """Nodes ordered so every node comes after its dependencies (stable by declaration order)."""
    pending = {n.name: n for n in nodes}
    done: list[Node] = []
    seen: set[str] = set()

    def visit(n: Node, trail: tuple[str, ...]) -> None:
        if n.name in seen:
            return
        if n.name in trail:
            raise ValueError(f"dependency cycle: {' -> '.join((*trail, n.name))}")
        for d in n.deps:
            if d in pending:
                visit(pending[d], (*trail, n.name))
        seen.add(n.name)
        done.append(n)

    for n in list(pending.values()):
        visit(n, ())
    return done


def assets_to_refresh(graph: Iterable[Node], materialized: Mapping[str, int | None], retrain: bool) -> list[str]:
    """Non-raw assets to build, in dependency order.

    An asset is built when it is missing, older than one of its inputs, or downstream of one that is
    built. Retrain-chain assets are left alone (their inputs change every hour, the model is retrained
    on schedule) unless ``retrain`` is set or they were never built.
    """
    order = topological(graph)
    chosen: set[str] = set()
    for n in order:
        if n.raw:
            continue
        mine = materialized.get(n.name)
        upstream = [materialized.get(d) for d in n.deps]
        missing = mine is None
        stale = mine is not None and any(u is not None and u > mine for u in upstream)
        after_chosen = any(d in chosen for d in n.deps)
        if n.training and not (retrain or missing):
            continue
        if missing or stale or after_chosen or (n.training and retrain):
            chosen.add(n.name)
    return [n.name for n in order if n.name in chosen]


def last_daily_tick(now: datetime, at_utc: str) -> datetime:
    """The latest daily ``HH:MM`` UTC tick at or before ``now``."""
    hh, mm = (int(x) for x in at_utc.split(":"))
    tick = now.astimezone(UTC).replace(hour=hh, minute=mm, second=0, microsecond=0)
    return tick if tick <= now else tick - timedelta(days=1)


def retrain_due(trained_at: datetime | None, now: datetime, at_utc: str) -> bool:
    """A model exists and the daily retrain tick passed since it was trained (no model: the first
    build trains anyway)."""
    return trained_at is not None and trained_at < last_daily_tick(now, at_utc)


def plan(graph: Iterable[Node], facts: Facts, *, retrain: bool = False) -> Plan:
    """What to run now: new or reopened hours to load first; once the warehouse holds every closed
    hour, the stale assets. Nothing while another pipeline run is queued or running."""
    if facts.busy:
        return Plan(reason="a pipeline run is queued or running", busy=True)
    load = hours_to_load(facts.closed, facts.loaded)
    if load:
        return Plan(load=tuple(load), reason=f"{len(load)} closed hour(s) not loaded in their current version")
    refresh = assets_to_refresh(list(graph), facts.materialized, retrain)
    if not refresh:
        return Plan(reason="every asset is built from its current inputs")
    return Plan(refresh=tuple(refresh), retrain=retrain,
                reason="retrain" if retrain else "assets older than their inputs or missing")
