"""Small aiohttp helpers shared by the HTTP endpoints."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def json_response(obj: Any) -> web.Response:
    """``obj`` as an ``application/json`` response (orjson)."""
    return web.Response(body=orjson.dumps(obj), content_type="application/json")
