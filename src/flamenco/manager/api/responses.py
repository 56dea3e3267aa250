"""JSON responses too big to build on the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web


async def large_json_response(build: Callable[[], Any]) -> web.Response:
    """Build and encode the body in a thread, one list item at a time.

    Converting and encoding 10,000 jobs takes ~130 ms. On the event loop every
    Worker asking for a task would wait for it; and json's C encoder keeps the
    GIL until it is done, so one `json.dumps` call in a thread would stall the
    loop just the same. Encoding item by item lets the loop in between.
    """
    body = await asyncio.to_thread(lambda: encode_in_pieces(build()).encode())
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def encode_in_pieces(value: Any, depth: int = 2) -> str:
    """json.dumps, with the outer `depth` levels of lists and objects joined in Python."""
    if depth and isinstance(value, list):
        return "[" + ", ".join(encode_in_pieces(item, depth - 1) for item in value) + "]"
    if depth and isinstance(value, dict):
        members = (
            f"{json.dumps(str(key))}: {encode_in_pieces(item, depth - 1)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(members) + "}"
    return json.dumps(value)
