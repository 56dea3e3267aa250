"""Worker configuration file, credentials file, Manager URLs and per-Worker paths."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from flamenco.worker import config


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://manager:8080/", "http://manager:8080/"),
        ("http://manager:8080", "http://manager:8080/"),
        ("manager", "http://manager/"),
        ("manager:8083", "http://manager:8083/"),
        ("  192.168.1.2:8080  ", "http://192.168.1.2:8080/"),
        ("https://farm.example.com/flamenco/", "https://farm.example.com/flamenco/"),
        ("[::1]:8080", "http://[::1]:8080/"),
    ],
)
def test_parse_manager_url_is_lenient(raw: str, expected: str) -> None:
    assert config.parse_manager_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "ftp://manager/", "http://", "manager:port"])
def test_parse_manager_url_rejects_nonsense(raw: str) -> None:
    with pytest.raises(ValueError):
        config.parse_manager_url(raw)


def test_missing_or_empty_config_file_means_defaults(tmp_path: Path) -> None:
    assert config.load_config(tmp_path / "absent.yaml") == config.WorkerConfig()
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    loaded = config.load_config(empty)
    assert loaded.task_types == ("blender", "ffmpeg", "file-management", "misc")
    assert loaded.manager_url == ""
    assert loaded.restart_exit_code == 0
    assert loaded.oom_score_adjust is None


def test_config_file_keys(tmp_path: Path) -> None:
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(
        "worker_name: node-7\nmanager_url: manager:8080\ntask_types: [blender, misc]\n"
        "restart_exit_code: 47\noom_score_adjust: 500\n",
        encoding="utf-8",
    )
    loaded = config.load_config(path)
    assert loaded.worker_name == "node-7"
    assert loaded.manager_url == "http://manager:8080/"
    assert loaded.task_types == ("blender", "misc")
    assert loaded.restart_exit_code == 47
    assert loaded.oom_score_adjust == 500


@pytest.mark.parametrize(
    ("text", "devices"),
    [
        ("gpu_devices: 1\n", "1"),
        ("gpu_devices: [0, 2]\n", "0,2"),
        ("gpu_devices: ' 0, 2'\n", "0,2"),
    ],
)
def test_gpu_devices_pin_every_gpu_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, devices: str
) -> None:
    monkeypatch.delenv(config.GPU_DEVICES_VARIABLE, raising=False)
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(text + "render_environment: {OCIO: /studio/ocio.config}\n", encoding="utf-8")
    loaded = config.load_config(path)
    assert config.render_environment(loaded) == {
        "CUDA_VISIBLE_DEVICES": devices,
        "HIP_VISIBLE_DEVICES": devices,
        "ONEAPI_DEVICE_SELECTOR": f"level_zero:{devices}",
        "OCIO": "/studio/ocio.config",
    }
    # Several Workers sharing one file: the environment picks each one's GPU.
    monkeypatch.setenv(config.GPU_DEVICES_VARIABLE, "3")
    assert config.render_environment(loaded)["CUDA_VISIBLE_DEVICES"] == "3"
    assert config.render_environment(config.WorkerConfig())["HIP_VISIBLE_DEVICES"] == "3"
    monkeypatch.delenv(config.GPU_DEVICES_VARIABLE)
    assert config.render_environment(config.WorkerConfig()) == {}


@pytest.mark.parametrize(
    "text",
    [
        "- a list\n",
        "restart_exit_code: soon\n",
        "task_types: blender\n",
        "a: [\n",
        "gpu_devices: true\n",
        "gpu_devices: '0,,1'\n",
        "gpu_devices: [first]\n",
        "render_environment: [A=1]\n",
    ],
)
def test_bad_config_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "flamenco-worker.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(config.ConfigError):
        config.load_config(path)


def test_credentials_round_trip_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / config.CREDENTIALS_FILENAME
    assert config.load_credentials(path) is None
    config.save_credentials(path, config.Credentials("3e8a", "s3cret"))
    assert config.load_credentials(path) == config.Credentials("3e8a", "s3cret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "re-register" in path.read_text(encoding="utf-8") or "registers" in path.read_text(
        encoding="utf-8"
    )


def test_home_from_environment_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLAMENCO_HOME", str(tmp_path / "one"))
    assert config.flamenco_home() == tmp_path / "one"
    monkeypatch.delenv("FLAMENCO_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert config.flamenco_home() == tmp_path / "xdg" / "flamenco"


def test_worker_name_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAMENCO_WORKER_NAME", " from-env ")
    assert config.worker_name(config.WorkerConfig(worker_name="from-file")) == "from-file"
    assert config.worker_name(config.WorkerConfig()) == "from-env"
    monkeypatch.delenv("FLAMENCO_WORKER_NAME")
    assert config.worker_name(config.WorkerConfig())
