"""The Manager's `flamenco-manager.yaml`: typed settings, defaults, loading, validation, writing.

The file format is upstream Flamenco 3's, so a studio can keep its existing file:
same keys, same defaults, Go duration syntax (`10m0s`). A few extension keys of
our own are documented in docs/configuration.md; upstream ignores them.
"""

from __future__ import annotations

from flamenco.manager.config.errors import ConfigError
from flamenco.manager.config.loading import config_from_json, load_config
from flamenco.manager.config.paths import (
    LoadedConfig,
    effective_shaman_enabled,
    effective_storage_location,
    listen_address,
)
from flamenco.manager.config.schema import (
    AUDIENCES,
    CONFIG_VERSION,
    DEFAULT_BLENDER_ARGUMENTS,
    DEFAULT_CONFIG_FILENAME,
    ManagerConfig,
    MQTTClientConfig,
    MQTTConfig,
    ShamanConfig,
    ShamanGarbageCollect,
    ShamanLinkMode,
    Variable,
    VariableValue,
    default_config,
    default_variables,
    manager_platform,
    parse_networks,
)
from flamenco.manager.config.shaman import shaman_settings
from flamenco.manager.config.writing import config_to_json, config_to_yaml, write_config

__all__ = [
    "AUDIENCES",
    "CONFIG_VERSION",
    "DEFAULT_BLENDER_ARGUMENTS",
    "DEFAULT_CONFIG_FILENAME",
    "ConfigError",
    "LoadedConfig",
    "MQTTClientConfig",
    "MQTTConfig",
    "ManagerConfig",
    "ShamanConfig",
    "ShamanGarbageCollect",
    "ShamanLinkMode",
    "Variable",
    "VariableValue",
    "config_from_json",
    "config_to_json",
    "config_to_yaml",
    "default_config",
    "default_variables",
    "effective_shaman_enabled",
    "effective_storage_location",
    "listen_address",
    "load_config",
    "manager_platform",
    "parse_networks",
    "shaman_settings",
    "write_config",
]
