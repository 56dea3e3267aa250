"""MQTT: the same events as Socket.IO, published to a broker under upstream's topics."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

import aiomqtt

from flamenco.manager.config import MQTTClientConfig
from flamenco.manager.eventbus.broker import Broker, Event, EventKind

logger = logging.getLogger(__name__)

QUEUE_SIZE = 10
KEEPALIVE_SECONDS = 30
RECONNECT_SECONDS = 10.0
QOS_AT_LEAST_ONCE = 1


class BrokerAddressInvalid(ValueError):
    pass


def broker_address(url: str) -> tuple[str, int, str]:
    """Host, port and transport from a broker URL like tcp://host:1883 or ws://host:9001/mqtt."""
    if not url.strip():
        raise BrokerAddressInvalid("no MQTT broker configured")
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if not parts.hostname:
        raise BrokerAddressInvalid(f"MQTT broker {url!r} has no host name")
    scheme = parts.scheme.lower()
    if scheme in ("tcp", "mqtt"):
        return parts.hostname, parts.port or 1883, "tcp"
    if scheme in ("ws", "websocket"):
        return parts.hostname, parts.port or 80, "websockets"
    raise BrokerAddressInvalid(f"MQTT broker {url!r}: use tcp://, mqtt:// or ws://")


class MQTTForwarder:
    """Publishes broker events, keeping at most QUEUE_SIZE waiting while disconnected."""

    def __init__(self, broker: Broker, settings: MQTTClientConfig) -> None:
        self._settings = settings
        self._host, self._port, self._transport = broker_address(settings.broker)
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        # Events dropped since the queue last had room: a burst of 10,000 task
        # updates logs two lines, not 10,000.
        self._dropped = 0
        self._broker = broker

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.TASK_LOG_UPDATE:
            return  # Task logs are too chatty for MQTT, as upstream decided.
        if event.kind == EventKind.WORK_AVAILABLE:
            return  # Internal: for the Workers' notice sockets only.
        topic = self._settings.topic_prefix + event.topic
        try:
            self._queue.put_nowait((topic, json.dumps(event.payload)))
        except asyncio.QueueFull:
            if not self._dropped:
                logger.error("MQTT queue full, dropping events", extra={"topic": topic})
            self._dropped += 1
            return
        if self._dropped:
            logger.warning("MQTT queue has room again; %d events were dropped", self._dropped)
            self._dropped = 0

    async def run(self) -> None:
        # Only while running: with several Manager processes, one of them forwards
        # the whole farm's events, and the others queue nothing.
        self._broker.subscribe(self._on_event)
        try:
            await self._forward()
        finally:
            self._broker.unsubscribe(self._on_event)

    async def _forward(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self._host,
                    self._port,
                    transport=self._transport,  # type: ignore[arg-type]
                    identifier=self._settings.client_id,
                    username=self._settings.username or None,
                    password=self._settings.password or None,
                    keepalive=KEEPALIVE_SECONDS,
                ) as client:
                    logger.info("connected to MQTT broker", extra={"broker": self._settings.broker})
                    while True:
                        topic, payload = await self._queue.get()
                        await client.publish(topic, payload, qos=QOS_AT_LEAST_ONCE)
            except aiomqtt.MqttError as error:
                logger.warning(
                    "MQTT broker unreachable, retrying",
                    extra={"broker": self._settings.broker, "error": str(error)},
                )
                await asyncio.sleep(RECONNECT_SECONDS)
