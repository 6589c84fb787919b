"""Every setting in one place, read from the environment and ``.env`` (HYPERTRACK_* variables).

A missing or malformed setting raises :class:`ConfigError` whose message is one clear line; the
CLI prints it and exits non-zero. RPC URLs can hold API keys: print them only through
:func:`mask_url`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values

from hypertrack_pipeline.datasets import STREAM_GROUPS
from hypertrack_pipeline.errors import UserError

MAINNET_WS_URL = "wss://api.hyperliquid.xyz/ws"
MAINNET_INFO_URL = "https://api.hyperliquid.xyz/info"
PUBLIC_EVM_RPC_URL = "https://rpc.hyperliquid.xyz/evm"


class ConfigError(UserError):
    """A setting is missing or malformed; the message is meant for the user, on one line."""


def mask_url(url: str | None) -> str:
    """Keep only scheme, host and port of a URL; userinfo, path, query and fragment become ``***``.

    Providers put API keys in the path (``/v2/<key>``), the query or the userinfo, and a key can be
    short, so no segment is trusted by its look: ``https://host/v2/abc`` → ``https://host/***``.
    """
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***"
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    if parts.username or parts.password or "@" in parts.netloc:
        netloc = "***@" + netloc
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return urlunsplit((parts.scheme, netloc, "/***" if hidden else parts.path, "", ""))


def _env() -> dict[str, str]:
    """Environment over ``.env`` (the environment wins, as usual)."""
    merged: dict[str, str] = {}
    env_file = Path(os.environ.get("HYPERTRACK_ENV_FILE", ".env"))
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _float(name: str, raw: str, minimum: float | None = None) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be ≥ {minimum}, got {raw!r}")
    return value


def account_share(name: str, raw: str | float) -> float:
    """A share of the Info weight budget: a number in (0, 1]. Above 1 the poller alone would exceed the
    exchange's limit and be answered 429 for the whole recorder, so that is a configuration error."""
    value = _float(name, str(raw))
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be in (0, 1] (a share of 1200 weight a minute), got {raw!r}")
    return value


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got {mask_url(raw)!r}")
    return raw.strip()


def parse_streams(raw: str, name: str = "--streams") -> tuple[str, ...]:
    """``trades,bbo,l2book,candles,evm`` → landed stream names, in a stable order."""
    wanted = [s.strip().lower() for s in raw.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STREAM_GROUPS]
    if unknown or not wanted:
        raise ConfigError(
            f"{name}: unknown stream(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(STREAM_GROUPS)}"
        )
    out: list[str] = []
    for group in STREAM_GROUPS:
        if group in wanted:
            out.extend(STREAM_GROUPS[group])
    return tuple(out)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_path: Path
    ws_url: str = MAINNET_WS_URL
    info_url: str = MAINNET_INFO_URL
    rpc_http: str | None = None
    rpc_ws: str | None = None
    streams: tuple[str, ...] = field(default_factory=lambda: parse_streams(",".join(STREAM_GROUPS)))
    flush_seconds: float = 10.0
    close_grace_seconds: float = 120.0
    retrain_at_utc: str = "03:15"  # daily retrain tick (HH:MM UTC)
    feature_window_hours: float = 0.0  # 0 = all recorded data
    partials_url: str | None = None  # where wallet_features keeps its per-unit partials (default data/partials)
    workers: int = 1  # processes computing feature partials in parallel (2+: cluster mode, from landing_url)
    landing_url: str | None = None  # the landing zone as workers read it (default data/raw; s3://… in cluster mode)
    training_batch_size: str = "auto"
    device: str = "auto"  # auto | cpu | cuda
    account_top: int = 200  # tracked wallets: the top N by notional (plus every whale / profitable wallet)
    account_share: float = 0.25  # share of Hyperliquid's 1200 Info weight a minute the account poller may use
    # alerts (hypertrack_pipeline/alerts): thresholds of the rules and where they are delivered
    alert_min_notional: float = 1_000_000.0  # USD: a new or increased position at least this large alerts
    alert_min_increase: float = 0.10  # an increase above the threshold alerts when |size| grew by this share
    alert_liq_distance: float = 0.05  # a tracked position this close to its liquidation price (share of mark)
    alert_categories: tuple[str, ...] = ("Whale", "Profitable Trader", "Bot")  # newly assigned: alert
    alert_webhook: str | None = None  # Slack/Discord-compatible incoming webhook; unset: alerts are only stored

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def partials_location(self) -> str:
        """The partial store: a folder, or an s3:// prefix shared by the workers of cluster mode."""
        return self.partials_url or str(self.data_dir / "partials")

    @property
    def landing_location(self) -> str:
        """The landing zone as feature workers read it (a folder or an s3:// prefix)."""
        return self.landing_url or str(self.raw_dir)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def snapshot_path(self) -> Path:
        """Read-only copy of the warehouse published after each run (for `hypertrack sql`)."""
        return self.warehouse_path.with_name(self.warehouse_path.stem + ".snapshot.duckdb")

    @property
    def tracked_wallets_path(self) -> Path:
        """The wallets the recorder polls for account state: written by the pipeline, read by the recorder."""
        return self.data_dir / "state" / "tracked_wallets.json"

    @property
    def evm_rpc_http(self) -> str:
        return self.rpc_http or PUBLIC_EVM_RPC_URL

    def describe(self) -> dict[str, str]:
        """Settings safe to print or store as metadata (URLs masked)."""
        return {
            "data_dir": str(self.data_dir),
            "warehouse_path": str(self.warehouse_path),
            "ws_url": mask_url(self.ws_url),
            "info_url": mask_url(self.info_url),
            "rpc_http": mask_url(self.evm_rpc_http),
            "rpc_ws": mask_url(self.rpc_ws),
            "streams": ",".join(self.streams),
        }


def _alert_settings(env: dict[str, str]) -> dict[str, object]:
    """The HYPERTRACK_ALERT_* settings (thresholds of the alert rules, the webhook URL), validated here so a
    typo is one clear line at start-up rather than an alert that silently never fires."""
    out: dict[str, object] = {}
    if "HYPERTRACK_ALERT_MIN_NOTIONAL" in env:
        out["alert_min_notional"] = _float("HYPERTRACK_ALERT_MIN_NOTIONAL", env["HYPERTRACK_ALERT_MIN_NOTIONAL"], 0)
    if "HYPERTRACK_ALERT_MIN_INCREASE" in env:
        out["alert_min_increase"] = _float("HYPERTRACK_ALERT_MIN_INCREASE", env["HYPERTRACK_ALERT_MIN_INCREASE"], 0)
    if "HYPERTRACK_ALERT_LIQ_DISTANCE" in env:
        raw = env["HYPERTRACK_ALERT_LIQ_DISTANCE"]
        value = _float("HYPERTRACK_ALERT_LIQ_DISTANCE", raw, 0)
        if value >= 1:
            raise ConfigError(f"HYPERTRACK_ALERT_LIQ_DISTANCE is a share of the mark price (0.05 = 5 %), got {raw!r}")
        out["alert_liq_distance"] = value
    if "HYPERTRACK_ALERT_CATEGORIES" in env:  # empty: no category alerts
        out["alert_categories"] = tuple(c.strip() for c in env["HYPERTRACK_ALERT_CATEGORIES"].split(",") if c.strip())
    if env.get("HYPERTRACK_ALERT_WEBHOOK", "").strip():
        out["alert_webhook"] = _url("HYPERTRACK_ALERT_WEBHOOK", env["HYPERTRACK_ALERT_WEBHOOK"], ("http", "https"))
    return out


def _location(name: str, value: str) -> str:
    """A folder or an s3:// URL (the stores cluster mode shares); anything else is a one-line error."""
    if "://" in value and not value.startswith("s3://"):
        raise ConfigError(f"{name} must be a folder or an s3:// URL, got {mask_url(value)!r}")
    return value if "://" in value else str(Path(value).expanduser())


def load_settings(data_dir: str | Path | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from environment + ``.env``; keyword overrides win (CLI flags)."""
    env = _env()
    base = Path(data_dir or env.get("HYPERTRACK_DATA_DIR") or "data").expanduser()
    if base.exists() and not base.is_dir():
        raise ConfigError(f"data directory {base} exists and is not a folder")
    warehouse = Path(env.get("HYPERTRACK_DUCKDB_PATH") or base / "warehouse.duckdb").expanduser()
    kwargs: dict[str, object] = {"data_dir": base, "warehouse_path": warehouse}
    if "HYPERTRACK_WS_URL" in env:
        kwargs["ws_url"] = _url("HYPERTRACK_WS_URL", env["HYPERTRACK_WS_URL"], ("ws", "wss"))
    if "HYPERTRACK_INFO_URL" in env:
        kwargs["info_url"] = _url("HYPERTRACK_INFO_URL", env["HYPERTRACK_INFO_URL"], ("http", "https"))
    if env.get("MAINNET_RPC_HTTP"):
        kwargs["rpc_http"] = _url("MAINNET_RPC_HTTP", env["MAINNET_RPC_HTTP"], ("http", "https"))
    if env.get("MAINNET_RPC_WS"):
        kwargs["rpc_ws"] = _url("MAINNET_RPC_WS", env["MAINNET_RPC_WS"], ("ws", "wss"))
    if env.get("HYPERTRACK_STREAMS"):
        kwargs["streams"] = parse_streams(env["HYPERTRACK_STREAMS"], "HYPERTRACK_STREAMS")
    else:
        # The prototype's RECORD_* flags still work: RECORD_BBO=false drops that stream.
        flags = {g: _bool(f"RECORD_{g.upper()}", env[f"RECORD_{g.upper()}"])
                 for g in STREAM_GROUPS if f"RECORD_{g.upper()}" in env}
        if flags:
            kwargs["streams"] = parse_streams(
                ",".join(g for g in STREAM_GROUPS if flags.get(g, True)) or "trades", "RECORD_*"
            )
    if "HYPERTRACK_FLUSH_SECONDS" in env:
        kwargs["flush_seconds"] = _float("HYPERTRACK_FLUSH_SECONDS", env["HYPERTRACK_FLUSH_SECONDS"], 0.1)
    if "HYPERTRACK_CLOSE_GRACE_SECONDS" in env:
        kwargs["close_grace_seconds"] = _float(
            "HYPERTRACK_CLOSE_GRACE_SECONDS", env["HYPERTRACK_CLOSE_GRACE_SECONDS"], 0
        )
    if "HYPERTRACK_RETRAIN_AT" in env:
        raw = env["HYPERTRACK_RETRAIN_AT"].strip()
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
            raise ConfigError(f"HYPERTRACK_RETRAIN_AT must be HH:MM (UTC), got {raw!r}")
        kwargs["retrain_at_utc"] = raw
    if "HYPERTRACK_FEATURE_WINDOW_HOURS" in env:
        kwargs["feature_window_hours"] = _float(
            "HYPERTRACK_FEATURE_WINDOW_HOURS", env["HYPERTRACK_FEATURE_WINDOW_HOURS"], 0
        )
    for name, key in (("HYPERTRACK_PARTIALS_URL", "partials_url"), ("HYPERTRACK_LANDING_URL", "landing_url")):
        if env.get(name, "").strip():
            kwargs[key] = _location(name, env[name].strip())
    if "HYPERTRACK_WORKERS" in env:
        raw = env["HYPERTRACK_WORKERS"].strip()
        if not (raw.isdigit() and int(raw) >= 1):
            raise ConfigError(f"HYPERTRACK_WORKERS must be a whole number ≥ 1, got {raw!r}")
        kwargs["workers"] = int(raw)
    if "HYPERTRACK_BATCH_SIZE" in env:
        raw = env["HYPERTRACK_BATCH_SIZE"].strip()
        if raw != "auto" and not (raw.isdigit() and int(raw) > 0):
            raise ConfigError(f"HYPERTRACK_BATCH_SIZE must be 'auto' or a positive integer, got {raw!r}")
        kwargs["training_batch_size"] = raw
    if "HYPERTRACK_DEVICE" in env:
        raw = env["HYPERTRACK_DEVICE"].strip().lower()
        if raw not in {"auto", "cpu", "cuda"}:
            raise ConfigError(f"HYPERTRACK_DEVICE must be auto, cpu or cuda, got {raw!r}")
        kwargs["device"] = raw
    if "HYPERTRACK_ACCOUNT_TOP" in env:
        raw = env["HYPERTRACK_ACCOUNT_TOP"].strip()
        if not raw.isdigit():
            raise ConfigError(f"HYPERTRACK_ACCOUNT_TOP must be a whole number ≥ 0, got {raw!r}")
        kwargs["account_top"] = int(raw)
    if "HYPERTRACK_ACCOUNT_SHARE" in env:
        kwargs["account_share"] = account_share("HYPERTRACK_ACCOUNT_SHARE", env["HYPERTRACK_ACCOUNT_SHARE"])
    kwargs.update(_alert_settings(env))
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**kwargs)  # type: ignore[arg-type]
