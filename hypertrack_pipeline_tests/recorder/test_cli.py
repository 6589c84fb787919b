"""`record` options: flags over environment, clean one-line errors, masked secrets."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.recorder.__main__ import main
from hypertrack_pipeline.recorder.cli import options_from_args, register


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("HYPERTRACK_", "RECORD_", "MAINNET_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HYPERTRACK_ENV_FILE", str(tmp_path / "absent.env"))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["record", *argv])


def test_flags_win_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERTRACK_STREAMS", "trades,evm")
    monkeypatch.setenv("MAINNET_RPC_HTTP", "https://hyperliquid-mainnet.g.alchemy.com/v2/abcdefghijklmnopqrstuvwxyz")
    opts = options_from_args(parse("--data-dir", str(tmp_path), "--coins", "BTC, ETH", "--flush-seconds", "2"))
    assert opts.streams == ("trades", "evm_blocks", "evm_transactions", "evm_token_transfers")
    assert opts.coins == ["BTC", "ETH"] and opts.flush_seconds == 2.0
    assert opts.rpc_http.endswith("abcdefghijklmnopqrstuvwxyz")
    assert "abcdefghijklmnop" not in str(opts.settings_view)  # what the report prints is masked
    opts = options_from_args(parse("--data-dir", str(tmp_path), "--streams", "bbo,candles", "--close-grace", "0"))
    assert opts.streams == ("bbo", "candles") and opts.close_grace_seconds == 0.0
    assert opts.coins is None  # every listed perp coin


def test_record_flags_from_environment_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORD_L2BOOK", "false")
    monkeypatch.setenv("RECORD_EVM", "0")
    opts = options_from_args(parse("--data-dir", str(tmp_path)))
    assert opts.streams == ("trades", "bbo", "candles", "account_state", "account_positions")  # RECORD_ACCOUNT: on
    assert opts.ws_url == "wss://api.hyperliquid.xyz/ws" and opts.info_url == "https://api.hyperliquid.xyz/info"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--streams", "trades,nope"], "unknown stream"),
        (["--ws-url", "http://example.com/ws"], "--ws-url must be a ws/wss URL"),
        (["--flush-seconds", "0"], "--flush-seconds must be > 0"),
        (["--max-connections", "11"], "--max-connections"),
        (["--coins", " , "], "--coins"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         message: str) -> None:
    with pytest.raises(UserError, match=message):
        options_from_args(parse("--data-dir", str(tmp_path), *argv))
    assert main(["--data-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err
