-- hypertrack DuckDB warehouse: every table declared once (the README data dictionary is checked
-- against this file). Times: *_ms = exchange epoch milliseconds (UTC); ts = the same as TIMESTAMP
-- (UTC, no time zone); hour = the landing partition (UTC hour start) each raw row was loaded from.
-- Addresses are lowercase hex. Notional = px * sz in USD.

-- Hyperliquid trades, deduplicated on (coin, time_ms, tid) across reconnect overlaps.
CREATE TABLE IF NOT EXISTS trades (
    coin VARCHAR NOT NULL,            -- market, e.g. BTC
    side VARCHAR NOT NULL,            -- aggressor side: B = buyer took, A = seller took
    px DOUBLE NOT NULL,               -- price, USD
    sz DOUBLE NOT NULL,               -- size, base units
    notional DOUBLE NOT NULL,         -- px * sz, USD
    time_ms BIGINT NOT NULL,          -- exchange time, epoch ms
    ts TIMESTAMP NOT NULL,            -- exchange time
    tid BIGINT NOT NULL,              -- trade id; (coin, time_ms, tid) is unique
    hash VARCHAR NOT NULL USING COMPRESSION uncompressed, -- L1 hash (64 zeros for TWAP fills)
    buyer VARCHAR NOT NULL,           -- users[0]
    seller VARCHAR NOT NULL,          -- users[1]
    hour TIMESTAMP NOT NULL           -- landing partition
);

-- One row per wallet per trade: the buyer's and the seller's side of every trade. A view over trades,
-- so it is stored once and always matches trades (loading writes half the rows a table would need).
CREATE VIEW IF NOT EXISTS fills AS
SELECT buyer AS wallet,               -- the trading wallet
       coin,
       time_ms,
       ts,
       tid,
       'B' AS side,                   -- the wallet's side: B = bought, S = sold
       1 AS side_sign,                -- +1 bought, -1 sold
       side = 'A' AS is_maker,        -- true when the wallet's order was resting (not the aggressor)
       px,
       sz,
       notional,                      -- px * sz, USD
       seller AS counterparty,        -- the other user of the trade (the wallet itself for a self-trade)
       hour
FROM trades
UNION ALL
SELECT seller, coin, time_ms, ts, tid, 'S', -1, side = 'B', px, sz, notional, buyer, hour FROM trades;

-- Best bid and offer updates.
CREATE TABLE IF NOT EXISTS bbo (
    coin VARCHAR NOT NULL,
    time_ms BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    bid_px DOUBLE,                    -- null when the side is empty
    bid_sz DOUBLE,
    bid_n INTEGER,                    -- orders at the level
    ask_px DOUBLE,
    ask_sz DOUBLE,
    ask_n INTEGER,
    mid DOUBLE,                       -- (bid_px + ask_px) / 2, null if a side is empty
    hour TIMESTAMP NOT NULL
);

-- L2 book snapshots, element i of each list = level i of that side, best first.
CREATE TABLE IF NOT EXISTS l2_snapshots (
    coin VARCHAR NOT NULL,
    time_ms BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    bid_px DOUBLE[] NOT NULL,
    bid_sz DOUBLE[] NOT NULL,
    bid_n INTEGER[] NOT NULL,
    ask_px DOUBLE[] NOT NULL,
    ask_sz DOUBLE[] NOT NULL,
    ask_n INTEGER[] NOT NULL,
    mid DOUBLE,                       -- mid of the best levels, null if a side is empty
    hour TIMESTAMP NOT NULL
);

-- Completed candles (1m), deduplicated on (coin, interval, open_time_ms).
CREATE TABLE IF NOT EXISTS candles (
    coin VARCHAR NOT NULL,
    interval VARCHAR NOT NULL,        -- 1m
    open_time_ms BIGINT NOT NULL,
    close_time_ms BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,            -- open time
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL,           -- base units
    n_trades BIGINT NOT NULL,
    hour TIMESTAMP NOT NULL
);

-- HyperEVM blocks.
CREATE TABLE IF NOT EXISTS evm_blocks (
    number BIGINT NOT NULL,
    hash VARCHAR NOT NULL USING COMPRESSION uncompressed,
    parent_hash VARCHAR NOT NULL USING COMPRESSION uncompressed,
    time_ms BIGINT NOT NULL,          -- block timestamp, epoch ms
    ts TIMESTAMP NOT NULL,
    miner VARCHAR,
    gas_used BIGINT,
    gas_limit BIGINT,
    base_fee DOUBLE,                  -- wei
    tx_count INTEGER NOT NULL,
    hour TIMESTAMP NOT NULL
);

-- HyperEVM transactions.
CREATE TABLE IF NOT EXISTS evm_transactions (
    hash VARCHAR NOT NULL,
    block_number BIGINT NOT NULL,
    time_ms BIGINT NOT NULL,          -- block timestamp, epoch ms
    ts TIMESTAMP NOT NULL,
    tx_index INTEGER NOT NULL,
    from_address VARCHAR NOT NULL,
    to_address VARCHAR,               -- null for contract creation
    value DOUBLE NOT NULL,            -- native token (HYPE), scaled by 1e18
    gas BIGINT,
    gas_price DOUBLE,                 -- wei
    nonce BIGINT,
    input_size INTEGER NOT NULL,      -- bytes of calldata (0 = plain transfer)
    method_id VARCHAR,                -- first 4 bytes of calldata, null if none
    hour TIMESTAMP NOT NULL
);

-- ERC-20 Transfer logs.
CREATE TABLE IF NOT EXISTS evm_token_transfers (
    block_number BIGINT NOT NULL,
    time_ms BIGINT NOT NULL,          -- block timestamp, epoch ms
    ts TIMESTAMP NOT NULL,
    tx_hash VARCHAR NOT NULL,
    log_index INTEGER NOT NULL,
    token VARCHAR NOT NULL,           -- ERC-20 contract
    from_address VARCHAR NOT NULL,
    to_address VARCHAR NOT NULL,
    amount_raw VARCHAR NOT NULL,      -- uint256 as decimal text
    decimals INTEGER NOT NULL,        -- 18 when unknown
    amount DOUBLE NOT NULL,           -- amount_raw / 10^decimals
    hour TIMESTAMP NOT NULL
);

-- Holes in the recorded streams (disconnects, stalls).
CREATE TABLE IF NOT EXISTS gaps (
    stream VARCHAR NOT NULL,
    coin VARCHAR,                     -- null when the whole stream was affected
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    cause VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL
);

-- Per wallet and coin: average-cost position at the end of the PnL window (SPEC §8).
CREATE TABLE IF NOT EXISTS wallet_positions (
    wallet VARCHAR NOT NULL,
    coin VARCHAR NOT NULL,
    position DOUBLE NOT NULL,         -- signed base units (+ long, - short); 0 assumed before the first fill
    avg_cost DOUBLE NOT NULL,         -- average entry price of the open position, USD (0 when flat)
    realized_pnl DOUBLE NOT NULL,     -- USD, no fees
    unrealized_pnl DOUBLE NOT NULL,   -- position * (last_mid - avg_cost), USD
    last_mid DOUBLE,                  -- mark price: last BBO mid (fallback: last L2 mid, then last trade px)
    fills BIGINT NOT NULL,            -- fills of the wallet in this coin (self-trades included)
    notional DOUBLE NOT NULL          -- USD traded (self-trades included)
);

-- Per wallet PnL summary.
CREATE TABLE IF NOT EXISTS wallet_pnl (
    wallet VARCHAR NOT NULL,
    realized_pnl DOUBLE NOT NULL,     -- USD
    unrealized_pnl DOUBLE NOT NULL,   -- USD
    total_pnl DOUBLE NOT NULL,        -- realized + unrealized, USD
    notional DOUBLE NOT NULL,         -- USD traded
    pnl_per_notional DOUBLE NOT NULL, -- total_pnl / notional
    win_rate DOUBLE NOT NULL,         -- share of closing fills with realized PnL > 0 (0 when none)
    closing_fills BIGINT NOT NULL,    -- fills that reduced, closed or flipped a position
    max_drawdown DOUBLE NOT NULL,     -- USD, largest fall of the hourly cum_total_pnl from its running peak (start 0)
    peak_position_notional DOUBLE NOT NULL, -- USD, max over coins and fills of abs(position) * fill px
    coins BIGINT NOT NULL             -- coins traded
);

-- Hourly PnL curve per wallet: one row per hour with a fill of the wallet, plus the window's last hour.
CREATE TABLE IF NOT EXISTS wallet_pnl_hourly (
    wallet VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,          -- UTC hour start; values are as of the end of that hour
    cum_realized_pnl DOUBLE NOT NULL, -- USD
    cum_total_pnl DOUBLE NOT NULL     -- USD, open positions marked at each coin's last mid of that hour
);
