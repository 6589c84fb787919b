"""The multi-seed evaluation's pieces: ROC AUC, the top decile, --seeds parsing, the budgets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.evaluation import budget_verdicts, format_table, parse_seeds, roc_auc
from hypertrack_pipeline.ml.pipeline import top_decile


def test_roc_auc_by_hand():
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    # positives 0.5 and 0.3 vs negatives 0.4 and 0.5: pairs won 1 + 0.5 (tie) + 0 + 0 of 4
    assert roc_auc([0.5, 0.3, 0.4, 0.5], [True, True, False, False]) == pytest.approx(1.5 / 4)
    assert math.isnan(roc_auc([0.1, 0.2], [True, True]))


def test_top_decile_is_the_best_tenth_of_predictions():
    pred = np.arange(20, dtype=float)  # the top tenth: rows 19 and 18
    ppn = np.where(pred >= 18, 0.01, -0.01)
    total = pred * 10
    got = top_decile(pred, ppn, total)
    assert got["top_decile_wallets"] == 2 and got["top_decile_next_pnl_per_notional"] == pytest.approx(0.01)
    assert got["top_decile_next_total_pnl"] == pytest.approx(185.0)
    assert top_decile(np.array([1.0]), np.array([0.5]), np.array([2.0]))["top_decile_wallets"] == 1


def test_parse_seeds():
    assert parse_seeds("1-10") == list(range(1, 11))
    assert parse_seeds("2-4,9") == [2, 3, 4, 9]
    for bad in ("x", "5-2", ","):
        with pytest.raises(UserError):
            parse_seeds(bad)


def _row(seed: int, spearman: float, top: float = 0.01, auc: float = 0.95, f1: float = 0.93,
         prof: float = 0.1) -> dict:
    return {"seed": seed, "macro_f1": f1, "spearman": spearman, "top_decile": top, "skill_auc": auc,
            "skill_profitability": prof, "skill_influence": 0.9, "skill_bot": 0.9, "skill_risk": 0.5,
            "skill_sophistication": 0.5, "skill_style": 0.5, "seconds": 80.0}


def test_budgets_and_table():
    good = [_row(1, 0.35), _row(2, 0.25), _row(3, 0.40)]
    assert all(budget_verdicts(good).values())
    bad = budget_verdicts([_row(1, 0.35), _row(2, 0.15, top=-0.001, prof=-0.2), _row(3, 0.40)])
    assert not bad["spearman every seed >= 0.20"] and bad["spearman median >= 0.30"]
    assert not bad["top decile next PnL > 0 every seed"]
    assert not bad["profitability head beats the mean every seed"]
    lines = format_table(good).splitlines()
    assert len(lines) == 2 + 3 + 1 and lines[-1].startswith("| **median** | 0.930 | +0.350 |")
