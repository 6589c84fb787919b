"""The one plan (hypertrack_pipeline.plan) on hand-made facts: loads by fingerprint, rebuilds by age."""

from __future__ import annotations

from datetime import UTC, datetime

from hypertrack_pipeline.graph import plan_nodes
from hypertrack_pipeline.plan import Facts, Node, assets_to_refresh, hours_to_load, plan, retrain_due

GRAPH = [
    Node("trades", (), raw=True),
    Node("pnl", ("trades",)),
    Node("features", ("trades",)),
    Node("targets", ("features", "pnl"), training=True),
    Node("model", ("targets",), training=True),
    Node("scores", ("features", "model")),
    Node("report", ("scores",)),
]


def test_hours_to_load_are_new_or_changed_hours_only():
    closed = {"h1": "a", "h2": "b", "h3": "c"}
    assert hours_to_load(closed, {"h1": "a", "h2": "b", "h3": "c"}) == []
    assert hours_to_load(closed, {"h1": "a", "h2": "OLD"}) == ["h2", "h3"]


def test_nothing_to_do_when_every_asset_is_newer_than_its_inputs():
    built = {"trades": 1, "pnl": 2, "features": 3, "targets": 4, "model": 5, "scores": 6, "report": 7}
    assert assets_to_refresh(GRAPH, built, retrain=False) == []


def test_a_new_hour_refreshes_the_hourly_chain_but_not_the_model():
    built = {"trades": 10, "pnl": 2, "features": 3, "targets": 4, "model": 5, "scores": 6, "report": 7}
    assert assets_to_refresh(GRAPH, built, retrain=False) == ["pnl", "features", "scores", "report"]
    assert assets_to_refresh(GRAPH, built, retrain=True) == ["pnl", "features", "targets", "model", "scores",
                                                              "report"]


def test_a_run_that_died_half_way_leaves_its_assets_stale():
    built = {"trades": 10, "pnl": 11, "features": 3, "targets": 4, "model": 5, "scores": 6, "report": 7}
    assert assets_to_refresh(GRAPH, built, retrain=False) == ["features", "scores", "report"]


def test_the_first_build_trains():
    built = {"trades": 10}
    assert assets_to_refresh(GRAPH, built, retrain=False) == ["pnl", "features", "targets", "model", "scores",
                                                               "report"]


def test_plan_loads_first_and_waits_for_running_runs():
    facts = Facts(closed={"h1": "a"}, loaded={}, materialized={"trades": None})
    p = plan(GRAPH, facts)
    assert p.load == ("h1",) and p.refresh == ()
    busy = Facts(closed={"h1": "a"}, loaded={}, materialized={}, busy=True)
    assert plan(GRAPH, busy).empty


def test_retrain_is_due_once_the_daily_tick_passed_since_training():
    now = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    assert retrain_due(datetime(2026, 1, 5, 3, 0, tzinfo=UTC), now, "03:15")
    assert not retrain_due(datetime(2026, 1, 5, 3, 30, tzinfo=UTC), now, "03:15")
    assert not retrain_due(None, now, "03:15")  # no model: the first build trains anyway


def test_the_real_graph_is_acyclic_and_every_read_is_an_asset():
    from hypertrack_pipeline.graph import check_graph
    from hypertrack_pipeline.plan import topological

    check_graph()
    order = [n.name for n in topological(plan_nodes())]
    assert order.index("wallet_features") < order.index("wallet_scores") < order.index("final_report")
