"""The log streaming extension: a WebSocket on which a Worker sends task log text as it is made."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from flamenco.manager import keys
from flamenco.manager.api import json_input
from flamenco.manager.api.errors import error_response
from flamenco.manager.errors import DiskFull
from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.persistence import errors as persistence_errors
from flamenco.manager.services.disk_space import DiskSpace
from flamenco.manager.services.task_updates import TaskNotAssigned, TaskUpdate, TaskUpdates

logger = logging.getLogger(__name__)

# A chunk holds at most a quarter of a second of output; even a very chatty
# command stays far below this.
MAX_FRAME_BYTES = 16 * 1024 * 1024
HEARTBEAT_SECONDS = 30.0


class FrameError(Exception):
    """A frame the Manager cannot use; `seq` is set when the frame had a readable one."""

    def __init__(self, code: int, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.seq = seq


async def stream_task_logs(request: web.Request) -> web.StreamResponse:
    """Accept log chunks `{"seq", "task_id", "log"}`; answer each with an ack or an error frame."""
    worker_uuid = request[keys.WORKER_UUID]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    if not ws.can_prepare(request).ok:
        return error_response(400, "this endpoint only speaks WebSocket; send an Upgrade request")
    await ws.prepare(request)
    logger.info("worker log stream opened", extra={"worker": worker_uuid})

    def on_event(event: Event) -> None:
        # The server waits for open connections on shutdown; this one would never end.
        if event.kind == EventKind.LIFECYCLE and event.payload.get("type") == "manager-shutdown":
            closing.append(asyncio.ensure_future(ws.close(code=WSCloseCode.GOING_AWAY)))

    closing: list[asyncio.Future[bool]] = []
    broker = request.app[keys.BROKER]
    broker.subscribe(on_event)
    updates = request.app[keys.TASK_UPDATES]
    disk_space = request.app[keys.DISK_SPACE]
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                reply = await _handle_frame(updates, disk_space, worker_uuid, message.data)
            elif message.type == WSMsgType.BINARY:
                reply = _error_frame(None, 400, "frames must be JSON text, not binary")
            else:
                continue
            await ws.send_str(json.dumps(reply))
    finally:
        broker.unsubscribe(on_event)
        logger.info("worker log stream closed", extra={"worker": worker_uuid})
    return ws


async def _handle_frame(
    updates: TaskUpdates, disk_space: DiskSpace, worker_uuid: str, data: str
) -> dict[str, Any]:
    seq: int | None = None
    try:
        frame = _parse(data)
        seq = frame["seq"]
        await updates.update(worker_uuid, frame["task_id"], TaskUpdate(log=frame["log"]))
    except FrameError as error:
        return _error_frame(error.seq, error.code, error.message)
    except TaskNotAssigned as error:
        return _error_frame(seq, 409, error.message)
    except persistence_errors.DatabaseBusy:
        return _error_frame(seq, 503, "the database is busy, send the chunk again later")
    except persistence_errors.NotFound as error:
        return _error_frame(seq, 404, str(error) or "task not found")
    except DiskFull as error:
        disk_space.report(error)
        return _error_frame(seq, error.status, error.message)
    except Exception as error:
        logger.exception("error storing streamed task log", extra={"worker": worker_uuid})
        return _error_frame(seq, 500, f"internal error: {type(error).__name__}")
    return {"ack": seq}


def _parse(data: str) -> dict[str, Any]:
    try:
        frame = json_input.loads(data)
    except ValueError as error:
        raise FrameError(400, f"frame {error}") from None
    if not isinstance(frame, dict):
        raise FrameError(400, "frame must be a JSON object")
    seq = frame.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise FrameError(400, '"seq" must be an integer')
    task_id = frame.get("task_id")
    if not isinstance(task_id, str):
        raise FrameError(400, '"task_id" must be a string', seq)
    try:
        uuid.UUID(task_id)
    except ValueError:
        raise FrameError(400, f'"task_id" is not a UUID: {task_id!r}', seq) from None
    if not isinstance(frame.get("log"), str):
        raise FrameError(400, '"log" must be a string', seq)
    return frame


def _error_frame(seq: int | None, code: int, message: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"error": {"code": code, "message": message}}
    if seq is not None:
        frame["seq"] = seq
    return frame
