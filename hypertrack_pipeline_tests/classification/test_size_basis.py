"""Size cohorts on equity where the recorder polled the account, on peak position value otherwise."""

from __future__ import annotations

from hypertrack_pipeline.classification import categorize_wallets
from hypertrack_pipeline.datasets import ACCOUNT_STATE
from hypertrack_pipeline.feature_names import FEATURE_NAMES

A, B, C = ("0x" + c * 40 for c in "abc")
T0 = 1_767_571_200_000


def _features(con, neutral, wallets) -> None:  # noqa: ANN001 - duckdb connection, conftest fixture
    features, _ = neutral
    con.execute("CREATE TABLE wallet_features (wallet VARCHAR, " + ", ".join(f"{n} DOUBLE" for n in FEATURE_NAMES)
                + ")")
    con.executemany(f"INSERT INTO wallet_features VALUES (?, {', '.join('?' for _ in FEATURE_NAMES)})",
                    [[w, *[features[n] for n in FEATURE_NAMES]] for w in wallets])


def _cohorts(con) -> dict[str, tuple]:  # noqa: ANN001
    return {w: (c, b, e, p) for w, c, b, e, p in con.execute(
        "SELECT wallet, size_cohort, size_basis, equity_usd, peak_position_usd FROM wallet_categories").fetchall()}


def test_equity_where_polled_peak_position_otherwise(con, neutral, add_trades) -> None:  # noqa: ANN001
    _features(con, neutral, [A, B, C])
    # A buys 100 @ 100 from B: both peak at $10,000 of position (Dolphin on the position proxy); C never traded
    add_trades(con, [("BTC", T0 + 1000, 1, A, B, 100.0, 100.0)])
    con.execute(ACCOUNT_STATE.table.ddl())
    # A was polled twice: the latest equity ($600, Fish) counts, not the earlier $2M
    con.execute("INSERT INTO account_state (wallet, time_ms, ts, account_value, total_ntl_pos, total_margin_used, "
                "withdrawable, positions, hour) VALUES (?, ?, epoch_ms(?), ?, 0, 0, 0, 0, epoch_ms(?))",
                [A, T0, T0, 2_000_000.0, T0])
    con.execute("INSERT INTO account_state (wallet, time_ms, ts, account_value, total_ntl_pos, total_margin_used, "
                "withdrawable, positions, hour) VALUES (?, ?, epoch_ms(?), ?, 0, 0, 0, 1, epoch_ms(?))",
                [A, T0 + 60_000, T0 + 60_000, 600.0, T0])
    info = categorize_wallets(con)
    got = _cohorts(con)
    assert got[A][:3] == ("Fish", "equity", 600.0) and got[A][3] == 10_000.0
    assert got[B] == ("Dolphin", "peak_position", None, 10_000.0)
    assert got[C] == ("Shrimp", "peak_position", None, 0.0)
    assert info["size_basis_counts"] == {"peak_position": 2, "equity": 1}


def test_without_account_tables_every_cohort_is_on_peak_position(con, neutral, add_trades) -> None:  # noqa: ANN001
    _features(con, neutral, [A, B])
    add_trades(con, [("BTC", T0 + 1000, 1, A, B, 100.0, 100.0)])
    categorize_wallets(con)
    assert _cohorts(con) == {A: ("Dolphin", "peak_position", None, 10_000.0),
                             B: ("Dolphin", "peak_position", None, 10_000.0)}


def test_empty_account_state_changes_nothing(con, neutral, add_trades) -> None:  # noqa: ANN001
    _features(con, neutral, [A, B])
    add_trades(con, [("BTC", T0 + 1000, 1, A, B, 100.0, 100.0)])
    con.execute(ACCOUNT_STATE.table.ddl())
    categorize_wallets(con)
    assert {w: v[1] for w, v in _cohorts(con).items()} == {A: "peak_position", B: "peak_position"}
