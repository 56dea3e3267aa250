"""The Worker's configuration file, its credentials file, and where its per-Worker files live."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

CONFIG_FILENAME = "flamenco-worker.yaml"
CREDENTIALS_FILENAME = "flamenco-worker-credentials.yaml"
DATABASE_FILENAME = "flamenco-worker.sqlite"
WORKER_NAME_VARIABLE = "FLAMENCO_WORKER_NAME"
GPU_DEVICES_VARIABLE = "FLAMENCO_GPU_DEVICES"
# The variables that make CUDA/OptiX, HIP and oneAPI show a process only some GPUs;
# Blender's Cycles honours each. Metal (macOS) has no such variable.
GPU_VISIBILITY_VARIABLES = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")
ONEAPI_SELECTOR_VARIABLE = "ONEAPI_DEVICE_SELECTOR"
HOME_VARIABLE = "FLAMENCO_HOME"
# The Manager's `worker_enrolment_secret`, for Workers whose configuration file should not hold it.
ENROLMENT_SECRET_VARIABLE = "FLAMENCO_WORKER_ENROLMENT_SECRET"

DEFAULT_TASK_TYPES = ("blender", "ffmpeg", "file-management", "misc")


class ConfigError(Exception):
    """The configuration or credentials file cannot be used."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerConfig:
    """`flamenco-worker.yaml`, with upstream's keys and defaults."""

    worker_name: str = ""
    # Empty means: find the Manager with UPnP/SSDP.
    manager_url: str = ""
    task_types: tuple[str, ...] = DEFAULT_TASK_TYPES
    # Zero means the Worker cannot be restarted by the Manager.
    restart_exit_code: int = 0
    # Linux only; None leaves the out-of-memory score of subprocesses alone.
    oom_score_adjust: int | None = None
    # Sent when registering, where the Manager asks for one (our extension).
    worker_enrolment_secret: str = field(default="", repr=False)
    # Our extension: the GPUs (device indices, "0" or "0,2") the render processes may
    # see, for several Workers on one multi-GPU machine. Empty: all of them.
    gpu_devices: str = ""
    # Our extension: more environment variables for every process the Worker starts.
    render_environment: tuple[tuple[str, str], ...] = ()
    source: Path | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Credentials:
    worker_id: str
    worker_secret: str


def load_config(path: Path) -> WorkerConfig:
    """Read the configuration file; a missing or empty file means all defaults."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return WorkerConfig()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if document is None:
        return WorkerConfig(source=path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    return _config_from_document(document, path)


def _config_from_document(document: dict[str, Any], path: Path) -> WorkerConfig:
    def text(key: str) -> str:
        value = document.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string, not {value!r}")
        return value.strip()

    def integer(key: str) -> int | None:
        value = document.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: {key} must be a whole number, not {value!r}")
        return value

    task_types: tuple[str, ...] = DEFAULT_TASK_TYPES
    if "task_types" in document and document["task_types"] is not None:
        raw_types = document["task_types"]
        if not isinstance(raw_types, list) or not all(isinstance(t, str) for t in raw_types):
            raise ConfigError(f"{path}: task_types must be a list of strings")
        task_types = tuple(t.strip() for t in raw_types if t.strip())

    gpu_devices = _gpu_devices(document.get("gpu_devices"), path)
    render_environment = document.get("render_environment") or {}
    if not isinstance(render_environment, dict) or not all(
        isinstance(name, str) and name and isinstance(value, (str, int, float))
        for name, value in render_environment.items()
    ):
        raise ConfigError(f"{path}: render_environment must map variable names to values")

    manager_url = text("manager_url")
    if manager_url:
        try:
            manager_url = parse_manager_url(manager_url)
        except ValueError as error:
            raise ConfigError(f"{path}: manager_url: {error}") from error
    return WorkerConfig(
        worker_name=text("worker_name"),
        manager_url=manager_url,
        task_types=task_types,
        restart_exit_code=integer("restart_exit_code") or 0,
        oom_score_adjust=integer("oom_score_adjust"),
        worker_enrolment_secret=text("worker_enrolment_secret"),
        gpu_devices=gpu_devices,
        render_environment=tuple(
            (str(name), str(value)) for name, value in render_environment.items()
        ),
        source=path,
    )


def _gpu_devices(value: object, path: Path) -> str:
    """`1`, `"0,2"` or `[0, 2]` as the text the visibility variables take."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise ConfigError(f"{path}: gpu_devices must be device numbers, not {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        return ",".join(str(item) for item in value)
    if isinstance(value, str) and all(part.strip() for part in value.split(",")):
        return ",".join(part.strip() for part in value.split(","))
    raise ConfigError(f"{path}: gpu_devices must be device numbers like 1 or 0,2, not {value!r}")


def render_environment(config: WorkerConfig) -> dict[str, str]:
    """The variables to set for the processes the Worker starts (renders and all).

    $FLAMENCO_GPU_DEVICES overrides `gpu_devices`, so that several Workers sharing
    one flamenco-worker.yaml (one per GPU, as a systemd template) each see their own.
    """
    devices = os.environ.get(GPU_DEVICES_VARIABLE, "").strip() or config.gpu_devices
    environment: dict[str, str] = {}
    if devices:
        for name in GPU_VISIBILITY_VARIABLES:
            environment[name] = devices
        environment[ONEAPI_SELECTOR_VARIABLE] = f"level_zero:{devices}"
    environment.update(config.render_environment)
    return environment


def parse_manager_url(raw: str) -> str:
    """Accept what people type: `host`, `host:8080`, or a full URL; the scheme defaults to http."""
    text = raw.strip()
    if not text:
        raise ValueError("the Manager URL is empty")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"unsupported scheme {parts.scheme!r} in {raw!r}")
    if not parts.hostname:
        raise ValueError(f"the Manager URL {raw!r} has no host name")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as error:
        raise ValueError(f"the Manager URL {raw!r} has an invalid port") from error
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def flamenco_home() -> Path:
    """Where per-Worker files live: $FLAMENCO_HOME, else the platform's user data directory."""
    override = os.environ.get(HOME_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "Blender Foundation" / "Flamenco"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Flamenco"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base_dir = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base_dir / "flamenco"


def worker_name(config: WorkerConfig) -> str:
    """The configured name, else $FLAMENCO_WORKER_NAME, else the host name."""
    if config.worker_name.strip():
        return config.worker_name.strip()
    from_environment = os.environ.get(WORKER_NAME_VARIABLE, "").strip()
    if from_environment:
        return from_environment
    return socket.gethostname()


def enrolment_secret(config: WorkerConfig) -> str:
    """The configured enrolment secret, else $FLAMENCO_WORKER_ENROLMENT_SECRET, else none."""
    return config.worker_enrolment_secret or os.environ.get(ENROLMENT_SECRET_VARIABLE, "").strip()


def load_credentials(path: Path) -> Credentials | None:
    """The stored credentials, or None when there are none (the Worker then registers)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read credentials from {path}: {error}") from error
    if not isinstance(document, dict):
        return None
    worker_id = document.get("worker_id")
    secret = document.get("worker_secret")
    if not isinstance(worker_id, str) or not isinstance(secret, str) or not worker_id:
        return None
    return Credentials(worker_id, secret)


def save_credentials(path: Path, credentials: Credentials) -> None:
    """Write the credentials readable by the owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    body = yaml.safe_dump(
        {"worker_id": credentials.worker_id, "worker_secret": credentials.worker_secret},
        sort_keys=False,
    )
    text = (
        "# Credentials of this Flamenco Worker at its Manager.\n"
        "#\n"
        "# Not meant to be edited. Deleting this file is fine: the Worker then\n"
        "# registers at the Manager again, as a new Worker.\n"
        f"#\n# Written on {written}\n\n{body}"
    )
    temporary = path.with_name(path.name + "~")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
