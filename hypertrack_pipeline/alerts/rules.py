"""Alert rules, evaluated in DuckDB after each refresh (the ``alerts`` step of the hourly chain).

Three rules, each comparing what the warehouse holds now with what the previous evaluation saw (the internal
``alert_baseline`` table), so "new", "increased" and "newly classified" mean *since the last refresh*:

- ``position_new`` / ``position_increased``: an open position (``wallet_positions``, |size| × last mid) of at
  least ``min_notional`` USD that is new (no same-side position before: opened or flipped) or grew — across
  the threshold, or by at least ``min_increase`` of its previous size (a price move alone never alerts, nor
  does a $10 top-up of a $5 M position every hour);
- ``category_new``: a wallet newly assigned one of the watched categories (``wallet_categories``);
- ``near_liquidation``: a tracked wallet's position (the latest ``account_positions`` poll) within
  ``liq_distance`` of its liquidation price, as a share of the mark, when it was not the evaluation before
  (entering the zone alerts; staying in it does not). A no-op while ``account_positions`` is absent or empty.

First evaluation of a rule (its baseline was never recorded): the baseline is recorded and nothing alerts,
so enabling alerts on a warehouse with history, or the first account polls, does not flood the channel with
every existing whale and every existing large position; alerts start with the next change. Each rule is
primed on its own (the liquidation rule when the first account polls arrive).

Each alert has a deterministic id (hash of kind, wallet, coin or category, the data hour it fired on and the
threshold): the alerts and the new baseline are written in one transaction, and an alert whose id exists is
never inserted again, so re-running a refresh (or a run that died half way) adds nothing twice.
No Dagster here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table

if TYPE_CHECKING:
    import duckdb

    from hypertrack_pipeline.config import Settings

POSITION_NEW, POSITION_INCREASED = "position_new", "position_increased"
CATEGORY_NEW, NEAR_LIQUIDATION = "category_new", "near_liquidation"
KINDS: tuple[str, ...] = (POSITION_NEW, POSITION_INCREASED, CATEGORY_NEW, NEAR_LIQUIDATION)
RULES: tuple[str, ...] = ("position", "category", "liquidation")  # baseline rule names
_HOUR_MS = 3_600_000
_EPS = 1e-9  # relative: sizes recomputed from the same fills must not count as "grown"

ALERTS_TABLE = Table(
    "alerts",
    "One row per alert the rules raised after a refresh (append-only history; the webhook sensor delivers "
    "them from the snapshot): new or increased large positions, newly classified wallets, tracked positions "
    "near liquidation.",
    (
        Column("alert_id", "VARCHAR NOT NULL", "hash of kind, wallet, coin or category, data hour and threshold: "
               "re-running a refresh inserts nothing twice"),
        Column("created_at", "TIMESTAMP NOT NULL", "data time it fired on (UTC): the end of the newest hour for "
               "positions and categories, the account poll for liquidation"),
        Column("kind", "VARCHAR NOT NULL", "position_new, position_increased, category_new or near_liquidation"),
        Column("wallet", "VARCHAR NOT NULL", "address, lowercase hex"),
        Column("coin", "VARCHAR", "market (null for category alerts)"),
        Column("category", "VARCHAR", "the newly assigned category (category_new only)"),
        Column("value", "DOUBLE", "position notional USD; category confidence; distance to liquidation "
               "(share of mark)"),
        Column("threshold", "DOUBLE", "the threshold it fired on: USD notional or distance share (null for "
               "categories)"),
        Column("message", "VARCHAR NOT NULL", "one line for people: the webhook's text"),
        Column("recorded_at", "TIMESTAMP NOT NULL", "wall-clock time the evaluation recorded it (UTC)"),
    ),
)

BASELINE_TABLE = Table(
    "alert_baseline",
    "Internal: what the previous alert evaluation saw, so the rules alert on changes since the last refresh.",
    (
        Column("rule", "VARCHAR NOT NULL", "position, category, liquidation, or primed (the rule's baseline exists)"),
        Column("wallet", "VARCHAR NOT NULL", "address ('' for primed rows)"),
        Column("item", "VARCHAR NOT NULL", "coin (position, liquidation), category (category), rule (primed)"),
        Column("value", "DOUBLE", "signed size (position), confidence (category), distance (liquidation)"),
    ),
    internal=True,
)


@dataclass(frozen=True)
class AlertThresholds:
    """The rules' thresholds (HYPERTRACK_ALERT_*; see config.py)."""

    min_notional: float = 1_000_000.0
    min_increase: float = 0.10
    liq_distance: float = 0.05
    categories: tuple[str, ...] = ("Whale", "Profitable Trader", "Bot")

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertThresholds:
        return cls(settings.alert_min_notional, settings.alert_min_increase, settings.alert_liq_distance,
                   tuple(settings.alert_categories))


@dataclass(frozen=True)
class Alert:
    """One alert, as stored in ``alerts`` and posted to the webhook."""

    alert_id: str
    created_at: datetime  # naive UTC, as DuckDB TIMESTAMP
    kind: str
    wallet: str
    coin: str | None
    category: str | None
    value: float | None
    threshold: float | None
    message: str

    @classmethod
    def make(cls, kind: str, wallet: str, coin: str | None, category: str | None, created_at: datetime,
             value: float | None, threshold: float | None, message: str) -> Alert:
        return cls(alert_id(kind, wallet, coin or category or "", created_at, threshold), created_at, kind,
                   wallet, coin, category, value, threshold, message)

    def as_dict(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "created_at": self.created_at.isoformat() + "Z", "kind": self.kind,
                "wallet": self.wallet, "coin": self.coin, "category": self.category, "value": self.value,
                "threshold": self.threshold, "message": self.message}


def alert_id(kind: str, wallet: str, item: str, created_at: datetime, threshold: float | None) -> str:
    """Deterministic: the same rule firing for the same wallet, coin/category, data hour and threshold is the
    same alert (a re-run or a reloaded hour finds it already there)."""
    hour = created_at.replace(minute=0, second=0, microsecond=0).isoformat()
    th = "" if threshold is None else f"{threshold:.12g}"
    return hashlib.sha256(f"{kind}|{wallet}|{item}|{hour}|{th}".encode()).hexdigest()[:24]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {r[0]: str(r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema()", [table]).fetchall()}


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchall()[0][0])


def _side(size: float) -> str:
    return "long" if size > 0 else "short"


@dataclass(frozen=True)
class _Rule:
    """One rule's outcome before it is written: its alerts and the SELECT of its new baseline rows."""

    name: str
    alerts: list[Alert]
    baseline_sql: str
    params: Sequence[Any] = ()


def _data_time(con: duckdb.DuckDBPyConnection, tables: set[str], now: datetime) -> datetime:
    """The end of the newest hour the positions describe (wallet_pnl_hourly); without it, the current hour."""
    if "wallet_pnl_hourly" in tables:
        newest = con.execute("SELECT max(hour) FROM wallet_pnl_hourly").fetchall()[0][0]
        if newest is not None:
            return newest + timedelta(hours=1)
    return now.replace(minute=0, second=0, microsecond=0)


def _position_rule(con: duckdb.DuckDBPyConnection, t: AlertThresholds, at: datetime) -> _Rule:
    rows = con.execute("""
        WITH cur AS (SELECT wallet, coin, position AS size, coalesce(last_mid, avg_cost) AS mark
                     FROM wallet_positions WHERE position <> 0),
             base AS (SELECT wallet, item AS coin, value AS size FROM alert_baseline WHERE rule = 'position')
        SELECT c.wallet, c.coin, c.size, c.mark, abs(c.size) * c.mark AS notional, b.size AS before
        FROM cur c LEFT JOIN base b USING (wallet, coin)
        WHERE abs(c.size) * c.mark >= $min
          AND (b.size IS NULL OR sign(b.size) <> sign(c.size)
               OR (abs(c.size) > abs(b.size) * (1 + $eps)
                   AND (abs(c.size) >= abs(b.size) * (1 + $inc) OR abs(b.size) * c.mark < $min)))
        ORDER BY c.wallet, c.coin""", {"min": t.min_notional, "inc": t.min_increase, "eps": _EPS}).fetchall()
    alerts = []
    for wallet, coin, size, mark, notional, before in rows:
        side = _side(size)
        if before is None or (before > 0) != (size > 0):
            flipped = f" (flipped from {_side(before)})" if before else ""
            alerts.append(Alert.make(
                POSITION_NEW, wallet, coin, None, at, notional, t.min_notional,
                f"New {coin} {side}{flipped} of ${notional:,.0f} by {wallet} ({abs(size):,.6g} {coin} @ {mark:,.6g})"))
        else:
            alerts.append(Alert.make(
                POSITION_INCREASED, wallet, coin, None, at, notional, t.min_notional,
                f"{wallet} increased its {coin} {side} to ${notional:,.0f} "
                f"({abs(before):,.6g} → {abs(size):,.6g} {coin} @ {mark:,.6g})"))
    return _Rule("position", alerts, "SELECT 'position', wallet, coin, position FROM wallet_positions "
                                     "WHERE position <> 0")


_CATEGORIES_SQL = """
    SELECT wallet, x[1] AS category, TRY_CAST(x[2] AS DOUBLE) AS confidence
    FROM (SELECT wallet, unnest(from_json(categories, '[["VARCHAR"]]')) AS x
          FROM wallet_categories WHERE categories IS NOT NULL AND categories <> '[]')"""


def _category_rule(con: duckdb.DuckDBPyConnection, t: AlertThresholds, at: datetime) -> _Rule:
    # The baseline holds every category (not only the watched ones), so watching one more category later
    # alerts on wallets that gain it from then on, not on every wallet that already had it.
    rows = con.execute(f"""
        WITH cur AS ({_CATEGORIES_SQL})
        SELECT c.wallet, c.category, c.confidence FROM cur c
        WHERE list_contains($watched, c.category)
          AND NOT EXISTS (SELECT 1 FROM alert_baseline b
                          WHERE b.rule = 'category' AND b.wallet = c.wallet AND b.item = c.category)
        ORDER BY c.wallet, c.category""", {"watched": list(t.categories)}).fetchall()
    alerts = [Alert.make(CATEGORY_NEW, wallet, None, category, at, confidence, None,
                         f"{wallet} is now classified {category}"
                         + (f" (confidence {confidence:.2f})" if confidence is not None else ""))
              for wallet, category, confidence in rows]
    return _Rule("category", alerts, f"SELECT 'category', wallet, category, confidence FROM ({_CATEGORIES_SQL})")


def _liquidation_sql(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    """The latest poll's positions of each tracked wallet with their distance to liquidation, or None when
    ``account_positions`` lacks what the rule needs. Latest poll: from ``account_state`` when present (a poll
    that found no position has a row there only, so a wallet that closed everything leaves the zone); polls
    more than an hour older than the newest one are ignored (a wallet no longer tracked)."""
    cols = _columns(con, "account_positions")

    def ms(table_cols: dict[str, str]) -> str | None:
        for name in ("time_ms", "time", "ts"):
            if name in table_cols:
                return f"epoch_ms({name})" if table_cols[name].startswith("TIMESTAMP") else name
        return None

    t_pos = ms(cols)
    mark = ("mark_px" if "mark_px" in cols else
            "position_value / abs(size)" if "position_value" in cols else None)
    if t_pos is None or mark is None or not {"wallet", "coin", "size", "liquidation_px"} <= set(cols):
        return None
    polls = f"SELECT wallet, max({t_pos}) AS t FROM account_positions GROUP BY wallet"
    if "account_state" in tables:
        state_cols = _columns(con, "account_state")
        t_state = ms(state_cols)
        if t_state is not None and "wallet" in state_cols and _has_rows(con, "account_state"):
            polls = f"SELECT wallet, max({t_state}) AS t FROM account_state GROUP BY wallet"
    return f"""
        WITH polls AS ({polls}),
             recent AS (SELECT wallet, t FROM polls WHERE t >= (SELECT max(t) FROM polls) - {_HOUR_MS}),
             cur AS (SELECT p.wallet, p.coin, r.t, p.size, p.liquidation_px AS liq, {mark} AS mark
                     FROM account_positions p JOIN recent r ON p.wallet = r.wallet AND {t_pos} = r.t
                     WHERE p.size <> 0 AND p.liquidation_px > 0)
        SELECT wallet, coin, t, size, liq, mark,
               CASE WHEN size > 0 THEN (mark - liq) / mark ELSE (liq - mark) / mark END AS distance
        FROM cur WHERE mark > 0"""


def _liquidation_rule(con: duckdb.DuckDBPyConnection, t: AlertThresholds, sql: str) -> _Rule:
    rows = con.execute(f"""
        WITH d AS ({sql})
        SELECT d.wallet, d.coin, d.t, d.size, d.liq, d.mark, d.distance FROM d
        WHERE d.distance <= $dist
          AND NOT EXISTS (SELECT 1 FROM alert_baseline b
                          WHERE b.rule = 'liquidation' AND b.wallet = d.wallet AND b.item = d.coin)
        ORDER BY d.wallet, d.coin""", {"dist": t.liq_distance}).fetchall()
    alerts = []
    for wallet, coin, t_ms, size, liq, mark, distance in rows:
        at = datetime.fromtimestamp(int(t_ms) / 1000, UTC).replace(tzinfo=None)
        alerts.append(Alert.make(
            NEAR_LIQUIDATION, wallet, coin, None, at, distance, t.liq_distance,
            f"{wallet}'s {coin} {_side(size)} is {distance:.1%} from liquidation (mark {mark:,.6g}, "
            f"liquidation {liq:,.6g}, ${abs(size) * mark:,.0f})"))
    return _Rule("liquidation", alerts,
                 f"SELECT 'liquidation', wallet, coin, distance FROM ({sql}) WHERE distance <= $dist",
                 {"dist": t.liq_distance})


def evaluate_alerts(con: duckdb.DuckDBPyConnection, thresholds: AlertThresholds | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Evaluate every rule against the baseline, insert the new alerts and record the new baseline, in one
    transaction; returns metadata (new alerts by kind, what each rule did, seconds)."""
    t = thresholds or AlertThresholds()
    started = time.perf_counter()
    wall = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    con.execute(ALERTS_TABLE.ddl())
    con.execute(BASELINE_TABLE.ddl())
    tables = _tables(con)
    at = _data_time(con, tables, wall)
    status: dict[str, str] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        primed = {r[0] for r in con.execute("SELECT item FROM alert_baseline WHERE rule = 'primed'").fetchall()}
        outcomes: list[_Rule] = []
        if "wallet_positions" in tables:
            outcomes.append(_position_rule(con, t, at))
        else:
            status["position"] = "skipped: no wallet_positions"
        if "wallet_categories" in tables:
            outcomes.append(_category_rule(con, t, at))
        else:
            status["category"] = "skipped: no wallet_categories"
        liq_sql = None
        if "account_positions" in tables and _has_rows(con, "account_positions"):
            liq_sql = _liquidation_sql(con, tables)
            status["liquidation"] = "" if liq_sql else "skipped: account_positions lacks the columns it needs"
        else:
            status["liquidation"] = "skipped: no account positions recorded"
        if liq_sql:
            outcomes.append(_liquidation_rule(con, t, liq_sql))
        inserted: list[Alert] = []
        for rule in outcomes:
            if rule.name in primed:
                inserted += _insert(con, rule.alerts, wall)
                status[rule.name] = f"{len(rule.alerts)} alert(s)"
            else:  # first evaluation: record what is, alert on what changes later
                con.execute("INSERT INTO alert_baseline VALUES ('primed', '', ?, NULL)", [rule.name])
                status[rule.name] = "baseline recorded (first evaluation: nothing alerts)"
            con.execute("DELETE FROM alert_baseline WHERE rule = ?", [rule.name])
            con.execute(f"INSERT INTO alert_baseline {rule.baseline_sql}", rule.params or None)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    by_kind = {k: sum(a.kind == k for a in inserted) for k in KINDS}
    return {"new_alerts": len(inserted), "by_kind": by_kind, "rules": status, "data_time": at.isoformat(),
            "seconds": round(time.perf_counter() - started, 3)}


def _insert(con: duckdb.DuckDBPyConnection, alerts: Iterable[Alert], recorded_at: datetime) -> list[Alert]:
    """Insert the alerts whose id is not stored yet; returns those inserted."""
    fresh = []
    for a in alerts:
        exists = con.execute("SELECT EXISTS (SELECT 1 FROM alerts WHERE alert_id = ?)", [a.alert_id]).fetchall()
        if exists[0][0]:
            continue
        con.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [a.alert_id, a.created_at, a.kind, a.wallet, a.coin, a.category, a.value, a.threshold,
                     a.message, recorded_at])
        fresh.append(a)
    return fresh


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.classification.rules import CATEGORY_NAMES

    thresholds = AlertThresholds.from_settings(ctx.settings)
    unknown = [c for c in thresholds.categories if c not in CATEGORY_NAMES]
    if unknown:  # a typo must not fail the refresh, but must not pass silently either
        ctx.log(f"HYPERTRACK_ALERT_CATEGORIES: unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(unknown)} never alert (known: {', '.join(CATEGORY_NAMES)})")
    info = evaluate_alerts(con, thresholds)
    ctx.log(f"alerts: {info['new_alerts']} new ({', '.join(f'{k} {v}' for k, v in info['rules'].items())})")
    return {**info, "unknown_categories": unknown} if unknown else info


STEP = Step(
    name="alerts",
    description="Alert rules after each refresh: new or increased positions ≥ HYPERTRACK_ALERT_MIN_NOTIONAL, wallets "
                "newly classified Whale / Profitable Trader / Bot, tracked positions near liquidation; appended to "
                "`alerts` (the alert_webhook sensor delivers them).",
    reads=("wallet_positions", "wallet_pnl_hourly", "wallet_categories", "account_positions", "account_state"),
    writes=(ALERTS_TABLE, BASELINE_TABLE), run=_run, group="alerts",
)
