"""A loaded configuration with its file, and the paths and addresses it resolves to."""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from pathlib import Path

from flamenco.manager.config.errors import ConfigError
from flamenco.manager.config.schema import ManagerConfig


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadedConfig:
    """A configuration together with the file it belongs to and the paths it resolves to.

    Relative paths in the file are resolved against the directory that holds the
    file (upstream uses the working directory or the executable's directory).
    """

    config: ManagerConfig
    path: Path
    file_existed: bool
    unknown_keys: tuple[str, ...] = ()
    # Set by `--setup-assistant`: behave as on a first run even with a complete file.
    force_first_run: bool = False

    @property
    def is_first_run(self) -> bool:
        """No file yet, an empty shared storage path, or a setup assistant run was asked for."""
        return (
            self.force_first_run or not self.file_existed or self.config.shared_storage_path == ""
        )

    @property
    def config_dir(self) -> Path:
        return self.path.parent

    @property
    def uses_postgresql(self) -> bool:
        return is_postgresql_url(self.config.database)

    @property
    def database_path(self) -> Path:
        """The SQLite file: the `database` DSN without `file:` and whitespace, made absolute."""
        return _absolute(_dsn_to_path(self.config.database), self.config_dir)

    @property
    def database_location(self) -> str | Path:
        """A PostgreSQL URL as written, else the SQLite file's path."""
        if self.uses_postgresql:
            return self.config.database.strip()
        return self.database_path

    @property
    def database_backup_path(self) -> Path:
        """Where backups go: `database_backup_path`, else `<database name>-backups` beside it."""
        configured = self.config.database_backup_path.strip()
        if configured:
            return _absolute(configured, self.config_dir)
        database = self.database_path
        return database.with_name(f"{database.stem}-backups")

    @property
    def local_storage_path(self) -> Path:
        return _absolute(self.config.local_manager_storage_path, self.config_dir)

    @property
    def shared_storage_path(self) -> str:
        """The shared storage directory made absolute; empty when not configured (first run)."""
        configured = self.config.shared_storage_path
        if configured == "":
            return ""
        return str(_absolute(configured, self.config_dir))

    @property
    def job_scripts_path(self) -> Path:
        return _absolute(self.config.job_scripts_path, self.config_dir)

    @property
    def tls_files(self) -> tuple[Path, Path] | None:
        """The certificate and key to serve HTTPS with; None for plain HTTP."""
        certificate = self.config.listen_tls_certificate.strip()
        key = self.config.listen_tls_key.strip()
        if not certificate and not key:
            return None
        return _absolute(certificate, self.config_dir), _absolute(key, self.config_dir)


def is_postgresql_url(database: str) -> bool:
    return database.strip().startswith(("postgresql://", "postgres://"))


def _absolute(path: str, base: Path) -> Path:
    # normpath, not resolve(): symlinked storage must keep the path the admin wrote.
    return Path(os.path.normpath(base / path))


def _dsn_to_path(dsn: str) -> str:
    """The file name in an SQLite DSN: a plain path or a `file:` URI, as upstream accepts."""
    dsn = dsn.strip()
    if not dsn.startswith("file:"):
        return dsn
    uri = urllib.parse.urlsplit(dsn)
    path = uri.path
    if uri.netloc not in ("", "localhost"):
        # `file://host/share/x` only makes sense as a Windows UNC path.
        path = f"//{uri.netloc}{path}"
    path = urllib.parse.unquote(path)
    # `file:///C:/x` has the path `/C:/x`; drop the slash before the drive letter.
    if len(path) >= 3 and path[0] == "/" and path[2] == ":" and path[1].isalpha():
        path = path[1:]
    return path


def listen_address(listen: str) -> tuple[str | None, int]:
    """Host and port from `listen` as upstream writes it; `:8080` means every interface."""
    host, separator, port = listen.strip().rpartition(":")
    if not separator or not port.isdigit():
        raise ConfigError(f"{listen!r} is not an address like :8080 or host:8080", key="listen")
    host = host.strip("[]")
    return host or None, int(port)


def effective_shaman_enabled(loaded: LoadedConfig) -> bool:
    """Whether Shaman is in use: enabled in the file, and not during a first-run setup."""
    return loaded.config.shaman.enabled and not loaded.is_first_run


def effective_storage_location(loaded: LoadedConfig) -> str:
    """Where job files live: `<shared>/jobs` with Shaman, else the shared storage itself.

    This is the value of the implicit `{jobs}` variable. Empty on a first run.
    """
    shared = loaded.shared_storage_path
    if shared and effective_shaman_enabled(loaded):
        return os.path.join(shared, "jobs")
    return shared
