"""The notifier's webhooks, read from a YAML file, and which alert events go to each.

A webhook takes an event when the event wants notifying (``notify`` is true: no parent
incident speaks for it), its kind is one the webhook takes, its tier is one of the
webhook's tiers, its level is at or above the webhook's ``min_level``, when the webhook
lists districts, it happened in one of them (a city-wide incident is in every district),
and, when the webhook lists departments, the event names one of them as its department
(``evidence.department``: the owner of a source whose data breaks its catalog promise, the
department holding an overdue case): a department's webhook hears only its own alerts.

``url`` and ``secret`` may name environment variables as ``${NAME}`` so that the file
holds no credentials; the entry point passes the environment in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from detectors.contract.alerts import AlertKind
from detectors.contract.levels import WarningLevel, parse_level
from detectors.contract.places import LEVELS, AreaLevel
from streams.notify_format import KIND_TEXT, level_of

NOTIFIABLE_KINDS: tuple[str, ...] = (
    AlertKind.RAISED,
    AlertKind.LEVEL_CHANGED,  # the engine asks to notify only when the level rises
    AlertKind.ESCALATED,
    AlertKind.INCIDENT_OPENED,
    AlertKind.INCIDENT_WIDENED,
    AlertKind.INCIDENT_LEVEL_CHANGED,  # likewise, only when rising
    AlertKind.INCIDENT_ESCALATED,
    AlertKind.UNSILENCED,  # a silence ended and the alert is still there: now people hear
)
"""Kinds a webhook takes unless it lists its own ``kinds``."""
KNOWN_KINDS: tuple[str, ...] = tuple(KIND_TEXT)
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_FIELDS = ("url", "secret")


class ConfigError(ValueError):
    """The notify config cannot be used; the message names the webhook and the field."""


def _level(value: Any) -> WarningLevel:
    if isinstance(value, WarningLevel):
        return value
    if not isinstance(value, str):
        raise ValueError("give a level as IV, III, II or I (or its colour)")
    return parse_level(value.strip())


Tier = AreaLevel  # a command tier: grid, street, district or city
ALL_TIERS: tuple[Tier, ...] = LEVELS
Level = Annotated[WarningLevel, BeforeValidator(_level)]


class WebhookConfig(BaseModel):
    """One webhook: where it is, what it speaks and which alert events it wants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: SecretStr  # robot URLs carry their access token: never logged
    format: Literal["generic", "dingtalk", "wecom"] = "generic"
    tiers: tuple[Tier, ...] = Field(ALL_TIERS, min_length=1)
    min_level: Level = WarningLevel.IV
    districts: tuple[str, ...] | None = Field(None, min_length=1)
    departments: tuple[str, ...] | None = Field(None, min_length=1)
    kinds: tuple[str, ...] = Field(NOTIFIABLE_KINDS, min_length=1)
    secret: SecretStr | None = None  # DingTalk signing ("加签"), the SEC... string
    timeout_s: float = Field(10.0, gt=0, le=300)
    max_attempts: int = Field(6, ge=1, le=50)
    max_age_s: float = Field(900.0, gt=0)
    backoff_s: float = Field(1.0, gt=0, le=600)
    backoff_max_s: float = Field(60.0, gt=0, le=3600)
    min_interval_s: float = Field(0.0, ge=0, le=600)  # DingTalk and WeCom take 20/min
    queue_size: int = Field(1000, ge=1, le=1_000_000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: SecretStr) -> SecretStr:
        parts = urlsplit(url.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return url

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in KNOWN_KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {', '.join(KNOWN_KINDS)}")
        return kinds

    @model_validator(mode="after")
    def _secret_is_dingtalks(self) -> WebhookConfig:
        if self.secret is not None and self.format != "dingtalk":
            raise ValueError("field secret: only a dingtalk webhook is signed")
        return self


class NotifyConfig(BaseModel):
    """Every webhook of the notifier; names are unique (they label the metrics)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhooks: tuple[WebhookConfig, ...] = ()


# -- routing -----------------------------------------------------------------------------
def wants(hook: WebhookConfig, record: Mapping[str, Any]) -> bool:
    """Whether ``hook`` takes this (checked, see ``record_problem``) alert event record."""
    if not record["notify"] or record["kind"] not in hook.kinds:
        return False
    if record.get("silence_id"):  # the worker never asks, but a silence always wins
        return False
    if record["tier"] not in hook.tiers or level_of(record) < hook.min_level:
        return False
    if hook.departments is not None and department_of(record) not in hook.departments:
        return False
    if hook.districts is None or record.get("scope") == AreaLevel.CITY:
        return True
    return record.get("district") in hook.districts


def department_of(record: Mapping[str, Any]) -> str:
    """The department an alert event record is for ('' when none)."""
    evidence = record.get("evidence")
    return str(evidence.get("department") or "") if isinstance(evidence, Mapping) else ""


def route(config: NotifyConfig, record: Mapping[str, Any]) -> list[WebhookConfig]:
    """The webhooks that take ``record``, in config order."""
    return [hook for hook in config.webhooks if wants(hook, record)]


# -- reading -----------------------------------------------------------------------------
def load_config(path: Path, environ: Mapping[str, str]) -> NotifyConfig:
    """The config in the YAML file at ``path``; ConfigError when it cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_config(data, environ)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(data: Any, environ: Mapping[str, str]) -> NotifyConfig:
    """The config from parsed YAML, ``${NAME}`` references resolved from ``environ``."""
    if data is None:
        return NotifyConfig()
    if not isinstance(data, dict) or not isinstance(data.get("webhooks", []), list):
        raise ConfigError("expected a mapping with a list under 'webhooks'")
    hooks = [_expand(i, h, environ) for i, h in enumerate(data.get("webhooks") or [])]
    _unique_names(hooks)
    try:
        return NotifyConfig.model_validate({**data, "webhooks": hooks})
    except ValidationError as exc:
        raise ConfigError("; ".join(_problem(error, hooks) for error in exc.errors())) from None


def _expand(index: int, hook: Any, environ: Mapping[str, str]) -> Any:
    if not isinstance(hook, dict):
        return hook  # validation names it
    expanded = dict(hook)
    for field in _SECRET_FIELDS:
        value = hook.get(field)
        if isinstance(value, str):
            missing = [n for n in _ENV_REF.findall(value) if n not in environ]
            if missing:
                raise ConfigError(
                    f"{_who(index, hook)}: field {field}: environment variable "
                    f"{missing[0]} is not set"
                )
            expanded[field] = _ENV_REF.sub(lambda m: environ[m.group(1)], value)
    return expanded


def _unique_names(hooks: list[Any]) -> None:
    seen: set[str] = set()
    for index, hook in enumerate(hooks):
        name = hook.get("name") if isinstance(hook, dict) else None
        if isinstance(name, str):
            if name in seen:
                raise ConfigError(f"{_who(index, hook)}: field name: used by another webhook")
            seen.add(name)


def _who(index: int, hook: Any) -> str:
    name = hook.get("name") if isinstance(hook, dict) else None
    return f"webhook {name!r} (#{index + 1})" if isinstance(name, str) else f"webhook #{index + 1}"


def _problem(error: Any, hooks: list[Any]) -> str:
    """One validation error as 'webhook 'x' (#2): field min_level: ...'."""
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "webhooks" and isinstance(loc[1], int):
        index, fields = loc[1], [str(p) for p in loc[2:]]
        who = _who(index, hooks[index] if index < len(hooks) else None)
    else:
        who, fields = "config", [str(p) for p in loc]
    message = str(error["msg"]).removeprefix("Value error, ")
    shown = error.get("input")
    secret = bool(fields) and fields[0] in _SECRET_FIELDS
    if not secret and isinstance(shown, str | int | float) and repr(shown) not in message:
        message += f" (got {shown!r})"
    field = ".".join(fields)
    return f"{who}: field {field}: {message}" if field else f"{who}: {message}"
