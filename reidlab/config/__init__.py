"""reidlab.config: the config tree with fast-reid's key names, `_BASE_` inheritance, overrides, validation."""

from reidlab.config.loader import (
    ConfigError,
    build_config,
    config_to_yaml,
    ignored_keys_note,
    load_config,
    override_config,
    resolve_config_path,
)
from reidlab.config.schema import Config, config_value

__all__ = [
    "Config",
    "ConfigError",
    "build_config",
    "config_to_yaml",
    "config_value",
    "ignored_keys_note",
    "load_config",
    "override_config",
    "resolve_config_path",
]
