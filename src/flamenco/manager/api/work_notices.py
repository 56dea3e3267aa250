"""The work notices extension: a WebSocket that tells a waiting Worker work may be waiting."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from flamenco.manager import keys
from flamenco.manager.api import json_input
from flamenco.manager.api.errors import error_response
from flamenco.manager.eventbus.work_notices import Connection, WorkNotices

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
# Frames from the Worker are a few bytes; anything big is not one of ours.
MAX_FRAME_BYTES = 4096
# How long closing waits for the Worker's answer to our close frame.
CLOSE_TIMEOUT_SECONDS = 2.0
# Bytes a socket may have unsent before it gets no more notices: a Worker that
# stopped reading gets nothing until it catches up.
MAX_BACKLOG_BYTES = 16 * 1024

NOTICE_FRAME = json.dumps({"type": "work-available"})


class _Socket:
    """The NoticeSocket that the notice service holds for one connection."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None) -> None:
        self._ws = ws
        self._transport = transport

    def backed_up(self) -> bool:
        transport = self._transport
        if self._ws.closed or not isinstance(transport, asyncio.WriteTransport):
            return True
        return transport.is_closing() or transport.get_write_buffer_size() > MAX_BACKLOG_BYTES

    async def send_notice(self) -> None:
        await self._ws.send_str(NOTICE_FRAME)

    async def close(self) -> None:
        await self._ws.close(code=WSCloseCode.GOING_AWAY, message=b"Manager shutting down")


async def stream_work_notices(request: web.Request) -> web.StreamResponse:
    """Take `waiting` and `not-waiting` frames; send `work-available` notices while waiting."""
    worker_uuid = request[keys.WORKER_UUID]
    notices = request.app[keys.WORK_NOTICES]
    if notices.closed:
        return error_response(503, "the Manager is shutting down")
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT_SECONDS,
        max_msg_size=MAX_FRAME_BYTES,
        timeout=CLOSE_TIMEOUT_SECONDS,
        # Frames are tiny; compressing each would cost more than it saves.
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        return error_response(400, "this endpoint only speaks WebSocket; send an Upgrade request")
    await ws.prepare(request)
    connection = notices.connect(worker_uuid, _Socket(ws, request.transport))
    logger.debug("worker notice socket opened", extra={"worker": worker_uuid})
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                error = await _handle_frame(notices, connection, ws, message.data)
            elif message.type == WSMsgType.BINARY:
                error = "frames must be JSON text, not binary"
            else:
                continue
            if error:
                await ws.send_str(json.dumps({"error": {"code": 400, "message": error}}))
    finally:
        notices.disconnect(connection)
        logger.debug("worker notice socket closed", extra={"worker": worker_uuid})
    return ws


async def _handle_frame(
    notices: WorkNotices, connection: Connection, ws: web.WebSocketResponse, data: str
) -> str:
    """Apply one frame from the Worker; returns an error message, or "" when it was fine."""
    try:
        frame: Any = json_input.loads(data)
    except ValueError as error:
        return f"frame {error}"
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "waiting":
        if notices.waiting(connection):
            await ws.send_str(NOTICE_FRAME)
    elif kind == "not-waiting":
        notices.not_waiting(connection)
    else:
        return 'frame must be {"type": "waiting"} or {"type": "not-waiting"}'
    return ""
