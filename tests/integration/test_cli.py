"""The flamenco-manager command line: version, writing the config, refusing bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from flamenco import FLAMENCO_API_VERSION, __version__


def run_manager_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flamenco.manager", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = run_manager_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert FLAMENCO_API_VERSION in result.stdout and __version__ in result.stdout


def test_write_config_writes_defaults(tmp_path: Path) -> None:
    result = run_manager_cli("--write-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((tmp_path / "flamenco-manager.yaml").read_text(encoding="utf-8"))
    assert written["_meta"] == {"version": 3}
    assert written["listen"] == ":8080"
    assert written["task_timeout"] == "10m0s"


def test_malformed_config_is_refused_with_key_and_line(tmp_path: Path) -> None:
    (tmp_path / "flamenco-manager.yaml").write_text(
        "_meta:\n  version: 3\nmanager_name: Farm\ntask_timeout: ten minutes\n", encoding="utf-8"
    )
    result = run_manager_cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "line 4" in result.stderr
    assert "task_timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "flamenco-manager.sqlite").exists()


def test_damaged_database_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "flamenco-manager.yaml").write_text(
        "_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: .\n", encoding="utf-8"
    )
    (tmp_path / "flamenco-manager.sqlite").write_bytes(b"garbage" * 1000)
    result = run_manager_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "Traceback" not in result.stderr
