"""Metric functions on inputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from hypertrack_pipeline.ml.metrics import (
    archetype_report,
    average_ranks,
    classification_report,
    head_errors_vs_baseline,
    metrics_metadata,
    spearman,
)


@pytest.mark.parametrize("seed", range(5))
def test_average_ranks_match_scipy_rankdata(seed):
    rng = np.random.default_rng(seed)
    cases = [
        rng.normal(size=200),  # no ties
        rng.integers(0, 7, 300).astype(float),  # many ties
        np.round(rng.normal(size=50), 1),
        np.array([np.inf, -np.inf, 0.0, -0.0, np.inf, 1e-300]),  # infinities and signed zero tie
        np.array([4.0]),
        np.full(9, 2.5),
    ]
    for x in cases:
        np.testing.assert_array_equal(average_ranks(x), rankdata(x, method="average"))
    assert average_ranks(np.array([])).size == 0
    assert np.isnan(average_ranks([1.0, np.nan, 2.0])).all()  # scipy's default NaN policy


def test_head_errors_against_the_mean_baseline():
    targets = {"risk": np.array([0.0, 1.0, 0.0, 1.0]), "style": np.array([[1.0, -1.0], [1.0, 1.0]])}
    preds = {"risk": np.array([0.1, 0.9, 0.1, 0.9]), "style": np.array([[0.0, 0.0], [0.0, 0.0]])}
    out = head_errors_vs_baseline(preds, targets, {"risk": 0.5, "style": [0.0, 0.0]})
    assert out["risk"]["mse"] == pytest.approx(0.01) and out["risk"]["baseline_mse"] == pytest.approx(0.25)
    assert out["risk"]["mae"] == pytest.approx(0.1) and out["risk"]["baseline_mae"] == pytest.approx(0.5)
    assert out["risk"]["skill"] == pytest.approx(0.96) and out["risk"]["beats_baseline"] is True
    assert out["style"]["mse"] == pytest.approx(1.0) and out["style"]["beats_baseline"] is False


def test_spearman_matches_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    a, b = [1, 2, 2, 3, 5, 4], [2, 1, 3, 3, 6, 5]
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert spearman([1, float("nan"), 3, 2], [1, 5, 3, 2]) == pytest.approx(1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3])) and math.isnan(spearman([1], [2]))


def test_classification_report_counts_multi_label_matches():
    truth = {"w1": {"Bot"}, "w2": {"Bot", "Whale"}, "w3": {"Whale"}, "w4": set()}
    predicted = {"w1": {"Bot"}, "w2": {"Whale"}, "w4": {"Bot"}, "w5": {"HODLer"}}
    rep = classification_report(truth, predicted, ["Bot", "Whale", "HODLer", "Scalper"])
    bot, whale, hodler = rep["labels"]["Bot"], rep["labels"]["Whale"], rep["labels"]["HODLer"]
    assert (bot["tp"], bot["precision"], bot["recall"]) == (1, 0.5, 0.5) and bot["f1"] == pytest.approx(0.5)
    assert (whale["precision"], whale["recall"]) == (1.0, 0.5) and whale["f1"] == pytest.approx(2 / 3)
    assert (hodler["support"], hodler["precision"], hodler["f1"]) == (0, 0.0, 0.0)
    # macro over labels that occur in the truth: Bot and Whale
    assert rep["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert rep["macro_precision"] == pytest.approx(0.75) and rep["wallets"] == 5


def test_metrics_metadata_flattens_to_floats_and_strings():
    flat = metrics_metadata({"heads": {"risk": {"mse": 0.1, "beats_baseline": True}}, "n": 3, "dev": "cpu",
                             "lst": [0.5, 1.0], "none": None})
    assert flat == {"heads.risk.mse": 0.1, "heads.risk.beats_baseline": 1.0, "n": 3.0, "dev": "cpu",
                    "lst": "0.5, 1", "none": ""}
    assert all(isinstance(v, float | str) for v in flat.values())


def test_archetype_report_maps_labels_to_archetypes():
    mapping = {"hft_scalper": {"Scalper", "Bot"}, "whale": {"Whale"}, "retail": set()}
    truth = {"a": ["hft_scalper"], "b": ["whale", "retail"], "c": ["retail"]}
    labels = {"a": {"Bot", "Active Trader"}, "b": {"Possible Whale"}, "c": {"Whale"}}
    rep = archetype_report(truth, labels, mapping)
    assert set(rep["labels"]) == {"hft_scalper", "whale"}  # retail maps to nothing: unscored
    assert rep["labels"]["hft_scalper"]["f1"] == 1.0
    whale = rep["labels"]["whale"]
    assert (whale["tp"], whale["predicted"], whale["support"]) == (0, 1, 1)
    assert rep["macro_f1"] == pytest.approx(0.5)
    assert set(archetype_report(truth, labels, mapping, unscored=["whale"])["labels"]) == {"hft_scalper"}
