"""`hypertrack sql` output: readable numbers in the table, machine-readable CSV and JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hypertrack_pipeline.warehouse.query import format_float, format_table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.21706e06, "1,217,060"),
        (1217060.53, "1,217,060.53"),
        (-1217060.53, "-1,217,060.53"),
        (97123.456, "97,123.46"),  # at least two decimals: cents
        (3.14159265, "3.14159"),  # six significant digits
        (12.0, "12"),
        (0.000123, "0.000123"),
        (1.2345678e-06, "0.00000123457"),
        (-1e-07, "-0.0000001"),
        (0.1 + 0.2, "0.3"),  # the shortest repr, not the binary expansion
        (1e20, "100,000,000,000,000,000,000"),
        (0.0, "0"),
        (-0.0, "0"),
        (1e-20, "0"),  # below MAX_PLACES decimals: float noise
        (float("nan"), "NaN"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_format_float(value: float, text: str) -> None:
    assert format_float(value) == text


def test_never_scientific_even_for_extremes() -> None:
    for value in (1.7976931348623157e308, 5e-324, 1.5e-11, 6.02e23, -2.5e-9):
        text = format_float(value)
        assert "e" not in text.lower(), text
    assert format_float(1.7976931348623157e308).startswith("179,769,313,486,231,57")


def test_table_cells_and_alignment() -> None:
    rows = [
        (1234567, 1.21706e06, True, Decimal("1234.50"), None, "0xab"),
        (-3, float("nan"), False, Decimal("-0.01"), 0.000123, "0xc"),
    ]
    lines = format_table(["n", "usd", "flag", "dec", "ratio", "wallet"], rows).splitlines()
    assert lines == [
        "n          usd        flag   dec       ratio     wallet",
        "---------  ---------  -----  --------  --------  ------",
        "1,234,567  1,217,060  True   1,234.50  NULL      0xab  ",
        "       -3        NaN  False     -0.01  0.000123  0xc   ",
        "(2 rows)",
    ]


def test_csv_and_json_keep_full_precision_without_separators() -> None:
    rows = [(1234567, 1217060.53125, 1.23e-07, True, None)]
    columns = ["n", "usd", "tiny", "flag", "none"]
    assert format_table(columns, rows, "csv") == "n,usd,tiny,flag,none\n1234567,1217060.53125,1.23e-07,True,"
    assert json.loads(format_table(columns, rows, "json")) == [
        {"n": 1234567, "usd": 1217060.53125, "tiny": 1.23e-07, "flag": True, "none": None}
    ]


def test_json_has_no_nan_literal() -> None:
    text = format_table(["a", "b"], [(float("nan"), float("inf"))], "json")
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == [{"a": None, "b": None}]
