"""Settings: environment and .env, one-line errors, masked secrets."""

from __future__ import annotations

import pytest

from hypertrack_pipeline.config import ConfigError, load_settings, mask_url, parse_streams


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYPERTRACK_DATA_DIR", raising=False)
    s = load_settings()
    assert str(s.data_dir) == "data" and s.warehouse_path.name == "warehouse.duckdb"
    assert s.ws_url.startswith("wss://api.hyperliquid.xyz")
    assert "evm_blocks" in s.streams


def test_env_file_and_environment(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("HYPERTRACK_DATA_DIR=fromfile\nHYPERTRACK_FLUSH_SECONDS=3\n")
    monkeypatch.setenv("HYPERTRACK_ENV_FILE", str(env_file))
    monkeypatch.setenv("HYPERTRACK_FLUSH_SECONDS", "5")
    s = load_settings()
    assert str(s.data_dir) == "fromfile" and s.flush_seconds == 5.0


def test_record_flags_and_streams(monkeypatch):
    monkeypatch.setenv("RECORD_BBO", "false")
    monkeypatch.setenv("RECORD_EVM", "0")
    s = load_settings()
    assert "bbo" not in s.streams and "evm_blocks" not in s.streams and "trades" in s.streams
    assert parse_streams("evm,trades") == ("trades", "evm_blocks", "evm_transactions", "evm_token_transfers")


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("HYPERTRACK_FLUSH_SECONDS", "soon", "must be a number"),
        ("HYPERTRACK_WS_URL", "http://x", "ws/wss URL"),
        ("HYPERTRACK_STREAMS", "trades,quotes", "unknown stream"),
        ("RECORD_BBO", "maybe", "true or false"),
        ("HYPERTRACK_BATCH_SIZE", "-3", "positive integer"),
        ("HYPERTRACK_RETRAIN_AT", "3am", "HH:MM"),
    ],
)
def test_malformed_setting_is_one_clear_line(monkeypatch, name, value, fragment):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_rpc_url_is_masked(monkeypatch):
    key = "AbCdEfGhIjKlMnOpQrStUv123456"
    url = f"https://hyperliquid-mainnet.g.alchemy.com/v2/{key}"
    assert key not in mask_url(url) and "alchemy.com" in mask_url(url)
    assert "secret" not in mask_url("https://user:secret@host/x?apikey=secret")
    monkeypatch.setenv("MAINNET_RPC_HTTP", url)
    assert key not in str(load_settings().describe())
    monkeypatch.setenv("MAINNET_RPC_HTTP", f"ftp://x/{key}")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert key not in str(exc.value)


@pytest.mark.parametrize(
    "url,masked",
    [
        ("https://host/v2/abc123def456", "https://host/***"),
        ("https://host:8545/abc", "https://host:8545/***"),
        ("https://user:pw@host/x?apikey=k", "https://***@host/***"),
        ("wss://host/ws?token=t#frag", "wss://host/***"),
        ("https://host/", "https://host/"),
        ("http://127.0.0.1:9", "http://127.0.0.1:9"),
        ("https://host?key=abc", "https://host/***"),
        ("not a url", "***"),
        ("", ""),
    ],
)
def test_mask_url_keeps_only_scheme_host_and_port(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_a_short_key_is_masked_in_settings_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "abc123def456"  # 12 characters: too short to look like a key, masked all the same
    monkeypatch.setenv("MAINNET_RPC_HTTP", f"https://rpc.example.com/v2/{key}")
    monkeypatch.setenv("MAINNET_RPC_WS", f"wss://rpc.example.com/ws/{key}")
    assert key not in str(load_settings().describe())
    monkeypatch.setenv("HYPERTRACK_WS_URL", f"https://h/{key}")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert key not in str(exc.value)
