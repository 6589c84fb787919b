"""final_report.txt text: the SPEC §11 layout, line by line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypertrack_pipeline.classification import ReportRow, render_final_report

ALICE = "0x1234567890abcdef1234567890abcdef12345678"
BOB = "0xabcdefabcdefabcdefabcdefabcdefabcdefabcd"

ROWS = [
    # Listed second: lower top confidence than Alice.
    ReportRow(
        wallet=BOB,
        categories=(),
        trading_style=(0.0, -0.00001, 1.0, -1.0, 0.5, 0.25),
        risk_score=0.1,
        profitability_score=0.2,
        bot_probability=0.3,
        influence_score=0.0,
        sophistication_score=0.12345,
        tx_count=3,
        age_days=0.004,
    ),
    ReportRow(
        wallet=ALICE,
        categories=(("Bot", 0.85), ("Scalper", 0.7249), ("Momentum Follower", 0.675)),
        trading_style=(0.23411, -0.12344, 0.56784, 0.1234, -0.23406, 0.3456),
        risk_score=0.72344,
        profitability_score=0.8123,
        bot_probability=0.85,
        influence_score=5.23412,
        sophistication_score=0.6789,
        tx_count=1250,
        age_days=45.234,
    ),
]

EXPECTED = """\
================================================================================
WALLET PROFILING REPORT
================================================================================
Generated: 2026-01-22T12:00:00Z
Total wallets analyzed: 2
================================================================================
Wallet #1: 0x1234567890abcdef1234567890abcdef12345678
--------------------------------------------------------------------------------
Categories: Bot (0.85), Scalper (0.72), Momentum Follower (0.68)
Trading Style Score (6D vector): ['0.2341', '-0.1234', '0.5678', '0.1234', '-0.2341', '0.3456']
Risk Score: 0.7234
Profitability Score: 0.8123
Bot Probability: 0.8500
Influence Score: 5.2341
Sophistication Score: 0.6789
Transaction Count: 1250
Age (days): 45.23
================================================================================
Wallet #2: 0xabcdefabcdefabcdefabcdefabcdefabcdefabcd
--------------------------------------------------------------------------------
Categories: None
Trading Style Score (6D vector): ['0.0000', '-0.0000', '1.0000', '-1.0000', '0.5000', '0.2500']
Risk Score: 0.1000
Profitability Score: 0.2000
Bot Probability: 0.3000
Influence Score: 0.0000
Sophistication Score: 0.1235
Transaction Count: 3
Age (days): 0.00
"""


def test_two_wallets_line_by_line():
    text = render_final_report(ROWS, datetime(2026, 1, 22, 12, 0, 0, tzinfo=UTC))
    assert text.splitlines() == EXPECTED.splitlines()
    assert text == EXPECTED
    assert all(len(line) == 80 for line in text.splitlines() if set(line) in ({"="}, {"-"}))


def test_generated_is_utc_with_z_from_any_timezone():
    tokyo = timezone(timedelta(hours=9))
    text = render_final_report([], datetime(2026, 1, 22, 21, 0, 5, 123456, tzinfo=tokyo))
    assert text.splitlines()[3] == "Generated: 2026-01-22T12:00:05Z"
    naive = render_final_report([], datetime(2026, 1, 22, 12, 0, 0))
    assert naive.splitlines()[3] == "Generated: 2026-01-22T12:00:00Z"
    assert naive.splitlines()[4] == "Total wallets analyzed: 0"
    assert len(naive.splitlines()) == 5


def test_hidden_uncategorized_wallets_still_count_as_analyzed():
    text = render_final_report(ROWS, datetime(2026, 1, 22, 12, tzinfo=UTC), show_no_categories=False)
    lines = text.splitlines()
    assert "Total wallets analyzed: 2" in lines
    assert [line for line in lines if line.startswith("Wallet #")] == [f"Wallet #1: {ALICE}"]
    assert BOB not in text


def test_order_by_top_confidence_then_tx_count_then_address():
    rows = [
        {"wallet": "0xcc", "categories": [("Whale", 0.4)], "tx_count": 10},
        {"wallet": "0xbb", "categories": [("Possible Bot", 0.6)], "tx_count": 5},
        {"wallet": "0xaa", "categories": [("Moderate Trader", 0.6)], "tx_count": 5},
        {"wallet": "0xdd", "categories": [("Bot", 0.6), ("HODLer", 0.2)], "tx_count": 9},
        {"wallet": "0xee", "categories": [], "tx_count": 100},
    ]
    text = render_final_report(rows, datetime(2026, 1, 1, tzinfo=UTC))
    order = [line.split(": ")[1] for line in text.splitlines() if line.startswith("Wallet #")]
    assert order == ["0xdd", "0xaa", "0xbb", "0xcc", "0xee"]
    assert "Categories: Bot (0.60), HODLer (0.20)" in text
