"""Realistic synthetic node archives, for the tests and ``bench/backfill.py``.

Real hours are hundreds of megabytes behind a requester-pays bucket; these lines follow the real field
set and order (from the 2-block fixture): perps, spot (``@107``, ``PURR/USDC``) and dex-prefixed perps
(``km:USTECH``), maker rebates, cloids, builders with fees, TWAP fills, a few liquidations and spot
dust conversions (``tid`` 0, zero hash, many wallets at one time). Blocks are filed by the node's
clock, a little after their block time, so each file starts with fills of the previous hour — as in
the real archive.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypertrack_pipeline.archive.parse import BY_BLOCK, FILLS, TRADES

COINS = ("BTC", "ETH", "SOL", "HYPE", "UNI", "PENGU", "@107", "@142", "PURR/USDC", "km:USTECH", "xyz:NVDA",
         "cash:TSLA")
_PX = {"BTC": 97000.0, "ETH": 3400.0, "SOL": 180.0, "HYPE": 30.0, "UNI": 3.9, "PENGU": 0.0073, "@107": 31.0,
       "@142": 1.0, "PURR/USDC": 0.09, "km:USTECH": 589.0, "xyz:NVDA": 180.0, "cash:TSLA": 250.0}
ZERO_HASH = "0x" + "0" * 64
_FILL = ('{"coin":"%s","px":"%s","sz":"%s","side":"%s","time":%d,"startPosition":"%s","dir":"%s",'
         '"closedPnl":"%s","hash":"%s","oid":%d,"crossed":%s,"fee":"%s","tid":%d,%s"feeToken":"%s"%s,'
         '"twapId":%s%s}')


class _Gen:
    """Stateful generator: wallets, order ids and trade ids stay unique across hours."""

    def __init__(self, seed: int = 7, wallets: int = 5000, base: int = 0) -> None:
        wr = random.Random(seed)  # the same wallets for every ``base`` (hour) of one seed
        self.wallets = [f"0x{wr.getrandbits(160):040x}" for _ in range(wallets)]
        self.r = random.Random(seed * 1_000_003 + base)
        self.oid = 300_000_000_000 + base * 100_000_000  # ids stay unique when hours are made apart
        self.tid = 500_000_000_000_000 + base * 100_000_000_000

    def _hash(self) -> str:
        return f"0x{self.r.getrandbits(256):064x}"

    def trade(self, t_ms: int) -> tuple[tuple[str, str], tuple[str, str], dict]:
        """Two fills (buyer first) as JSON text, and the trade's fields for the node_trades format."""
        r = self.r
        coin = COINS[int(r.random() ** 2 * len(COINS))]
        spot = coin.startswith("@") or "/" in coin
        px = f"{_PX[coin] * (1 + (r.random() - 0.5) * 0.02):.6g}"
        sz = f"{r.random() * 10:.4f}".rstrip("0").rstrip(".") or "0.1"
        buyer, seller = r.sample(self.wallets, 2)
        taker = "B" if r.random() < 0.5 else "A"
        twap = r.random() < 0.02
        h = ZERO_HASH if twap else self._hash()
        self.tid += r.randrange(1, 1000)
        out = []
        info = []
        for user, side in ((buyer, "B"), (seller, "A")):
            crossed = side == taker
            self.oid += 1
            start = f"{(r.random() - 0.5) * 1000:.3f}"
            if spot:
                d = "Buy" if side == "B" else "Sell"
            else:
                d = ("Open Long" if float(start) >= 0 else "Close Short") if side == "B" else (
                    "Close Long" if float(start) > 0 else "Open Short")
            fee = f"{float(px) * float(sz) * 0.00045:.6f}" if crossed else (
                f"-{float(px) * float(sz) * 0.00002:.6f}" if r.random() < 0.3 else "0.0")
            pnl = f"{(r.random() - 0.5) * 10:.6f}" if d.startswith("Close") else "0.0"
            cloid = f'"cloid":"0x{r.getrandbits(128):032x}",' if r.random() < 0.4 else ""
            builder = ""
            if r.random() < 0.05:
                builder = f',"builder":"0x{r.getrandbits(160):040x}","builderFee":"{float(fee) * 0.1:.6f}"'
            liq = ""
            if crossed and not spot and r.random() < 0.003:
                liq = (f',"liquidation":{{"liquidatedUser":"{user}","markPx":"{px}",'
                       f'"method":"{r.choice(("market", "backstop"))}"}}')
            twap_id = str(r.randrange(1, 2_000_000)) if twap else "null"
            out.append((user, _FILL % (coin, px, sz, side, t_ms, start, d, pnl, h, self.oid,
                                       "true" if crossed else "false", fee, self.tid, cloid,
                                       "USDH" if coin.startswith("km:") else "USDC", builder, twap_id, liq)))
            info.append({"user": user, "start_pos": start, "oid": self.oid, "twap_id": None if not twap else
                         int(twap_id), "cloid": cloid[9:-2] if cloid else None})
        trade = {"coin": coin, "side": taker, "px": px, "sz": sz, "hash": h, "side_info": info}
        return out[0], out[1], trade

    def dust(self, t_ms: int, n: int) -> list[tuple[str, str]]:
        """A spot dust conversion: many wallets' dust sold at one time, tid 0, zero hash."""
        self.oid += 1
        return [(w, _FILL % ("PURR/USDC", "0.089515", f"{self.r.random():.5f}", "A", t_ms, "0.5",
                             "Spot Dust Conversion", "0.0", ZERO_HASH, self.oid, "true", "0.0", 0, "", "USDC", "",
                             "null", "")) for w in self.r.sample(self.wallets, n)]


def _iso(ms: int, r: random.Random) -> str:
    t = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{r.randrange(1_000_000):06d}"


def hour_lines(gen: _Gen, hour: datetime, fills: int, fmt: str = BY_BLOCK, dust_every: int = 200_000) -> bytes:
    """One hourly file's decompressed bytes, about ``fills`` fills; blocks span the node's hour, shifted
    300 ms earlier so the file opens with the previous hour's last blocks."""
    start_ms = int(hour.timestamp() * 1000) - 300
    n_trades = max(1, fills // 2)
    per_block = 20
    n_blocks = max(1, n_trades // per_block)
    step = 3_600_000 / n_blocks
    lines: list[str] = []
    block = 900_000_000 + (start_ms // 100) % 100_000_000  # ~10 blocks/s, as on mainnet
    made = 0
    for b in range(n_blocks):
        t_ms = start_ms + int(b * step)
        events: list[tuple[str, str]] = []
        trades = []
        for _ in range(per_block):
            fb, fs, tr = gen.trade(t_ms)
            events += (fb, fs)
            tr["time"] = t_ms
            trades.append(tr)
        made += 2 * per_block
        if dust_every and made // dust_every != (made - 2 * per_block) // dust_every:
            events += gen.dust(t_ms, 25)
        if fmt == BY_BLOCK:
            bt = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
            lt = bt + timedelta(milliseconds=205)
            ev = ",".join(f'["{u}",{f}]' for u, f in events)
            lines.append(f'{{"local_time":"{lt:%Y-%m-%dT%H:%M:%S.%f}","block_time":"{bt:%Y-%m-%dT%H:%M:%S.%f}",'
                         f'"block_number":{block + b},"events":[{ev}]}}')
        elif fmt == FILLS:
            lines.extend(f'["{u}",{f}]' for u, f in events)
        else:
            import json

            for tr in trades:
                tr["time"] = _iso(tr["time"], gen.r)
                tr["trade_dir_override"] = "Na"
                lines.append(json.dumps({k: tr[k] for k in ("coin", "side", "time", "px", "sz", "hash",
                                                             "trade_dir_override", "side_info")},
                                        separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def write_hour(root: Path, hour: datetime, fills: int, fmt: str = BY_BLOCK, seed: int = 7, index: int = 0) -> Path:
    """Write one hourly file ``root/<fmt>/hourly/YYYYMMDD/H.lz4`` (``index`` keeps ids unique across hours
    made in separate processes)."""
    import lz4.frame

    data = hour_lines(_Gen(seed, base=index), hour, fills, fmt)
    p = Path(root) / fmt / "hourly" / f"{hour:%Y%m%d}" / f"{hour.hour}.lz4"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(lz4.frame.compress(data))
    return p


def write_archive(root: Path, start: datetime, hours: int, fills_per_hour: int, fmt: str = BY_BLOCK,
                  seed: int = 7) -> list[Path]:
    """Write ``hours`` consecutive files in the bucket's layout; returns their paths."""
    return [write_hour(root, start + timedelta(hours=i), fills_per_hour, fmt, seed, i) for i in range(hours)]


__all__ = ["BY_BLOCK", "COINS", "FILLS", "TRADES", "hour_lines", "write_archive", "write_hour"]
