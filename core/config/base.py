"""What every configuration model shares: its error types, the base model, secrets from env vars."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Keys that would hold a secret in the file itself; the `_env` form must be used instead.
_SECRET_KEYS = {"password", "secret", "token", "access_token", "api_key", "key"}


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names file, key path and problem."""


class ErrorAt(ValueError):
    """A model validator's error about one key below the model: `at` is the path from the model."""

    def __init__(self, at: tuple[int | str, ...], message: str) -> None:
        super().__init__(message)
        self.at = at


def check_env_name(value: str | None) -> str | None:
    """`value` if it can name an environment variable; ValueError otherwise."""
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


def read_secret(env_name: str | None) -> str | None:
    """The secret held by environment variable `env_name` (None when no name is configured)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"environment variable {env_name} is not set (it holds a secret the config names)")
    return value


class Model(BaseModel):
    """A section of the file: unknown keys refused, values frozen once validated."""

    # No inf or NaN: `.inf` would pass every lower bound and then stall a timeout or a delay.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key in _SECRET_KEYS:
                    # Point at the `_env` key this kind of entry really has (bots: url_env).
                    env_keys = [f for f in cls.model_fields if f.endswith("_env")]
                    hint = f"{key}_env" if f"{key}_env" in env_keys else " or ".join(env_keys) or f"{key}_env"
                    raise ErrorAt(
                        (key,),
                        f"secrets are not kept in the file: put the {key} in an environment "
                        f"variable and name it with '{hint}'",
                    )
        return data
