"""`listen_tls_certificate` and `listen_tls_key`: the Manager serves HTTPS itself."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from support.manager_process import free_port, manager_yaml

SRC = Path(__file__).resolve().parents[2] / "src"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    certificate, key = folder / "manager.crt", folder / "manager.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


async def _wait_for_https(url: str, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url + "/api/v3/version", ssl=context) as response:
                    if response.status in (200, 401):
                        return
            except (aiohttp.ClientError, OSError):
                pass
            assert time.monotonic() < deadline, f"nothing answers at {url}"
            await asyncio.sleep(0.1)


async def test_the_manager_serves_https_with_secure_cookies(tmp_path: Path) -> None:
    certificate, _ = _self_signed(tmp_path)
    port = free_port()
    directory = tmp_path / "manager"
    directory.mkdir()
    (tmp_path / "shared").mkdir()
    config_path = directory / "flamenco-manager.yaml"
    config_path.write_text(
        manager_yaml(
            port,
            tmp_path / "shared",
            access_control="true",
            listen_tls_certificate=str(certificate),
            listen_tls_key="../manager.key",  # Relative to the configuration file.
        ),
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": str(SRC), "FLAMENCO_PASSWORD": "a long password"}
    subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config_path),
         "--create-user", "root", "--role", "admin"],
        env=environment, cwd=directory, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    log = (directory / "manager.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config_path)],
        env=environment,
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}"
    trusted = ssl.create_default_context(cafile=str(certificate))
    try:
        await _wait_for_https(url, trusted)
        async with aiohttp.ClientSession() as session:
            async with session.post(
                url + "/api/v3/access/login",
                json={"name": "root", "password": "a long password"},
                ssl=trusted,
            ) as response:
                assert response.status == 200
                cookie = response.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie
            # Plain HTTP on the same port gets nothing.
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/api/v3/version"):
                    pass
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
        log.close()
    assert " port " in (directory / "manager.log").read_text(encoding="utf-8")


def test_unusable_certificate_files_stop_the_start(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    config_path = tmp_path / "flamenco-manager.yaml"
    config_path.write_text(
        manager_yaml(
            free_port(),
            tmp_path / "shared",
            listen_tls_certificate="missing.crt",
            listen_tls_key="missing.key",
        ),
        encoding="utf-8",
    )
    started = subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(config_path)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 1
    assert "listen_tls_certificate" in started.stderr
