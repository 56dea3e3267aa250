"""The settings of `flamenco-manager.yaml`: typed sections, their defaults and value checks.

The keys and defaults are upstream Flamenco 3's, so a studio can keep its file;
our own extension keys are marked with `_extension` and documented in
docs/configuration.md.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import ipaddress
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Final

CONFIG_VERSION: Final = 3
DEFAULT_CONFIG_FILENAME: Final = "flamenco-manager.yaml"
DEFAULT_BLENDER_ARGUMENTS: Final = "-b -y"

# Audiences a variable value can be meant for; "" is the same as "all".
AUDIENCES: Final = ("all", "workers", "users")


class ShamanLinkMode(enum.StrEnum):
    """How Shaman puts stored files into a job's checkout directory (our extension)."""

    AUTO = "auto"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    COPY = "copy"


def manager_platform(sys_platform: str | None = None) -> str:
    """The Go GOOS name (`linux`, `windows`, `darwin`, ...) of the platform we run on.

    Workers report their platform as Go names, and variables are keyed by them,
    so the Manager must call its own platform the same way.
    """
    name = sys.platform if sys_platform is None else sys_platform
    for prefix, goos in _GOOS_BY_SYS_PLATFORM_PREFIX:
        if name.startswith(prefix):
            return goos
    # Python appends release numbers on some systems (`freebsd14`); Go does not.
    return name.rstrip("0123456789")


_GOOS_BY_SYS_PLATFORM_PREFIX: Final = (
    ("linux", "linux"),
    ("win32", "windows"),
    ("cygwin", "windows"),
    ("msys", "windows"),
    ("darwin", "darwin"),
    ("freebsd", "freebsd"),
    ("openbsd", "openbsd"),
    ("netbsd", "netbsd"),
    ("dragonfly", "dragonfly"),
    ("sunos", "solaris"),
    ("aix", "aix"),
    ("emscripten", "js"),
    ("wasi", "wasip1"),
)


def _renamed(key: str) -> dict[str, object]:
    """Field metadata for a setting whose YAML/JSON key differs from its Python name."""
    return {"key": key}


def _extension(check: Callable[[typing.Any], str | None]) -> dict[str, object]:
    """Field metadata for one of our own keys, which upstream Flamenco does not know.

    `check` returns a problem description for an invalid value, or None.
    """
    return {"extension": True, "check": check}


def _any_value(_: object) -> str | None:
    return None


def _not_negative(value: int | datetime.timedelta) -> str | None:
    if (value < datetime.timedelta(0)) if isinstance(value, datetime.timedelta) else value < 0:
        return "must not be negative"
    return None


def _positive_duration(value: datetime.timedelta) -> str | None:
    return None if value > datetime.timedelta(0) else "must be longer than 0s"


def _networks(value: str) -> str | None:
    try:
        parse_networks(value)
    except ValueError as error:
        return f"must be IP addresses or networks separated by commas ({error})"
    return None


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`10.0.0.5, 192.168.1.0/24, ::1` as networks; empty text gives none."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    )


def _role(value: str) -> str | None:
    if value in ("viewer", "artist", "wrangler", "admin"):
        return None
    return "must be viewer, artist, wrangler or admin"


def _redis_url(value: str) -> str | None:
    if not value.strip() or value.strip().startswith(("redis://", "rediss://", "unix://")):
        return None
    return "must be empty or a Redis URL, e.g. redis://127.0.0.1:6379/0"


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be at least 1"


def _limit_capacities(value: Mapping[str, int]) -> str | None:
    for name, capacity in value.items():
        if not name.strip():
            return "a limit needs a name"
        if capacity < 0:
            return f"limit {name} must not be negative"
    return None


def _not_blank(value: str) -> str | None:
    # SQLite opens a throw-away temporary database for an empty name: all jobs
    # would vanish on restart, so refuse instead.
    if value.strip():
        return None
    return (
        "must name the database file, e.g. flamenco-manager.sqlite, "
        "or a PostgreSQL URL, e.g. postgresql://flamenco@db-host/flamenco"
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VariableValue:
    """One value of a variable, for one audience and one or more platforms."""

    # Upstream writes the keys in the order audience, platform, platforms, value.
    audience: str = ""
    platform: str = ""
    platforms: tuple[str, ...] = ()
    value: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Variable:
    """A named variable: `{name}` in task commands is replaced by its value."""

    is_twoway: bool = False
    values: tuple[VariableValue, ...] = ()


def default_variables() -> dict[str, Variable]:
    """Upstream's default variables: Blender from $PATH, run in the background."""
    return {
        "blender": Variable(
            values=(
                VariableValue(platform="linux", value="blender"),
                VariableValue(platform="windows", value="blender.exe"),
                VariableValue(platform="darwin", value="blender"),
            )
        ),
        "blenderArgs": Variable(
            values=(VariableValue(platform="all", value=DEFAULT_BLENDER_ARGUMENTS),)
        ),
    }


def _default_shaman_enabled() -> bool:
    # Shaman needs symlinks, which ordinary Windows users cannot create.
    return manager_platform() != "windows"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShamanGarbageCollect:
    """When Shaman removes files that no job checkout uses any more."""

    period: datetime.timedelta = datetime.timedelta(hours=24)
    max_age: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(days=31), metadata=_renamed("maxAge")
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShamanConfig:
    """The `shaman` section: the content-addressed file store for job files."""

    enabled: bool = dataclasses.field(default_factory=_default_shaman_enabled)
    garbage_collect: ShamanGarbageCollect = dataclasses.field(
        default=ShamanGarbageCollect(), metadata=_renamed("garbageCollect")
    )
    link_mode: ShamanLinkMode = dataclasses.field(
        default=ShamanLinkMode.AUTO, metadata=_extension(_any_value)
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MQTTClientConfig:
    """The `mqtt.client` section: forwarding Manager events to an MQTT broker."""

    enabled: bool = False
    broker: str = ""
    client_id: str = dataclasses.field(default="flamenco", metadata=_renamed("clientID"))
    topic_prefix: str = "flamenco"
    username: str = ""
    password: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MQTTConfig:
    """The `mqtt` section."""

    client: MQTTClientConfig = MQTTClientConfig()


class NotificationEvent(enum.StrEnum):
    """What a notification can be about (our extension); webhooks and email subscribe by name."""

    JOB_COMPLETED = "job-completed"
    JOB_FAILED = "job-failed"
    # Emitted by the approval gates through Outbox.record_job(); see docs/notifications.md.
    JOB_WAITING_FOR_APPROVAL = "job-waiting-for-approval"
    WORKER_ERROR = "worker-error"


class WebhookFormat(enum.StrEnum):
    """The body a webhook receives: our own JSON, or a chat service's incoming-webhook shape."""

    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    MATRIX = "matrix"


class SMTPSecurity(enum.StrEnum):
    """How the connection to the SMTP server is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


def _known_events(value: tuple[str, ...]) -> str | None:
    known = {event.value for event in NotificationEvent}
    unknown = [name for name in value if name not in known]
    if unknown:
        return f"unknown event {unknown[0]!r}; known events: {', '.join(sorted(known))}"
    return None


def _http_url(value: str) -> str | None:
    if value.startswith(("http://", "https://")) and len(value) > len("https://"):
        return None
    return "must be an http:// or https:// URL"


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else "must be a port number from 1 to 65535"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    """One entry of `notifications.webhooks`: where to POST which events, in what shape."""

    name: str = ""
    url: str = dataclasses.field(default="", metadata={"check": _http_url})
    # Empty: every event.
    events: tuple[str, ...] = dataclasses.field(default=(), metadata={"check": _known_events})
    format: WebhookFormat = WebhookFormat.JSON
    # Key of the HMAC-SHA256 signature header; empty sends no signature.
    secret: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig:
    """The `notifications.email` section: notifications as mail, through an SMTP server."""

    enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = dataclasses.field(default=587, metadata={"check": _port})
    smtp_security: SMTPSecurity = SMTPSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: str = ""
    from_address: str = ""
    recipients: tuple[str, ...] = ()
    # Also mail the artist whose job it is, when the add-on sent `user.email`.
    notify_submitter: bool = True
    events: tuple[str, ...] = dataclasses.field(default=(), metadata={"check": _known_events})


def _unique_webhook_names(value: tuple[WebhookConfig, ...]) -> str | None:
    names = [webhook.name or webhook.url for webhook in value]
    if any(not webhook.url for webhook in value):
        return "each webhook needs a url"
    for name in names:
        if name == "email":
            return 'the name "email" is taken by notifications.email'
        if names.count(name) > 1:
            return f"webhook {name!r} is listed twice; give each a different name"
    return None


def _email_complete(value: EmailConfig) -> str | None:
    if value.enabled and not (value.smtp_host and value.from_address):
        return "needs smtp_host and from_address when enabled"
    return None


def _role_or_none(value: str) -> str | None:
    return None if value == "" else _role(value)


def _http_url_or_empty(value: str) -> str | None:
    if value == "" or value.startswith(("https://", "http://")):
        return None
    return "must be empty or an http(s):// URL"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OIDCRoleRule:
    """One line of `oidc.role_mapping`: people in `group` get `role`."""

    group: str = ""
    role: str = dataclasses.field(default="viewer", metadata={"check": _role})


def _oidc_complete(value: OIDCConfig) -> str | None:
    if value.issuer and not value.client_id:
        return "client_id is needed with issuer"
    if value.issuer and "openid" not in value.scopes:
        return "scopes must include openid"
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OIDCConfig:
    """The `oidc` section (our extension): single sign-on through an OpenID Connect provider.

    Off while `issuer` is empty (docs/access-control.md).
    """

    issuer: str = dataclasses.field(default="", metadata={"check": _http_url_or_empty})
    client_id: str = ""
    client_secret: str = dataclasses.field(default="", repr=False)
    # The login page's button says "Sign in with <provider_name>".
    provider_name: str = "single sign-on"
    # The Manager's address as browsers reach it, e.g. https://flamenco.example.com;
    # empty: taken from each request (and a trusted proxy's X-Forwarded-Proto/-Host).
    redirect_base_url: str = dataclasses.field(default="", metadata={"check": _http_url_or_empty})
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # The ID token claim that gives the user name.
    user_claim: str = "preferred_username"
    # The ID token claim listing the person's groups, matched against role_mapping.
    roles_claim: str = "groups"
    role_mapping: tuple[OIDCRoleRule, ...] = ()
    # The role of people in no mapped group; empty: they may not log in.
    default_role: str = dataclasses.field(default="", metadata={"check": _role_or_none})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NotificationsConfig:
    """The `notifications` section (our extension): webhooks and email about farm events."""

    webhooks: tuple[WebhookConfig, ...] = dataclasses.field(
        default=(), metadata={"check": _unique_webhook_names}
    )
    email: EmailConfig = dataclasses.field(
        default=EmailConfig(), metadata={"check": _email_complete}
    )
    # The wait before the second attempt; it doubles after each failure, up to retry_max_delay.
    retry_delay: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=10), metadata={"check": _positive_duration}
    )
    retry_max_delay: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(hours=1), metadata={"check": _positive_duration}
    )
    max_attempts: int = dataclasses.field(default=10, metadata={"check": _at_least_one})
    request_timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=10), metadata={"check": _positive_duration}
    )
    # Finished deliveries older than this are removed from the outbox.
    keep_deliveries: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(days=7), metadata={"check": _positive_duration}
    )
    # How often the outbox is looked at for deliveries that other processes recorded.
    poll_interval: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=2), metadata={"check": _positive_duration}
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ManagerConfig:
    """Everything in `flamenco-manager.yaml`, with upstream's defaults.

    Frozen: make an edited copy with `dataclasses.replace`. Field order is the
    key order of the written file, which follows upstream's.
    """

    manager_name: str = "Flamenco"
    database: str = dataclasses.field(
        default="flamenco-manager.sqlite", metadata={"check": _not_blank}
    )
    database_check_period: datetime.timedelta = datetime.timedelta(minutes=10)
    listen: str = ":8080"
    autodiscoverable: bool = True
    local_manager_storage_path: str = "./flamenco-manager-storage"
    shared_storage_path: str = ""
    shaman: ShamanConfig = dataclasses.field(default_factory=ShamanConfig)
    task_timeout: datetime.timedelta = datetime.timedelta(minutes=10)
    worker_timeout: datetime.timedelta = datetime.timedelta(minutes=1)
    blocklist_threshold: int = 3
    task_fail_after_softfail_count: int = 3
    mqtt: MQTTConfig = MQTTConfig()

    job_scripts_path: str = dataclasses.field(default="scripts", metadata=_extension(_any_value))
    job_compiler_timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=5), metadata=_extension(_positive_duration)
    )
    task_log_max_bytes: int = dataclasses.field(
        default=100 * 1024 * 1024, metadata=_extension(_not_negative)
    )
    no_progress_timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(0), metadata=_extension(_not_negative)
    )
    redis_url: str = dataclasses.field(default="", metadata=_extension(_redis_url))
    database_backup_period: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(hours=24), metadata=_extension(_not_negative)
    )
    database_backup_keep: int = dataclasses.field(default=7, metadata=_extension(_at_least_one))
    database_backup_path: str = dataclasses.field(default="", metadata=_extension(_any_value))
    http_header_timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=10), metadata=_extension(_positive_duration)
    )
    http_idle_timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=75), metadata=_extension(_positive_duration)
    )
    http_max_connections: int = dataclasses.field(
        default=10_000, metadata=_extension(_at_least_one)
    )
    # Farm-wide named limits (licences, NAS bandwidth): at most this many active tasks
    # whose job type says they take the limit. See docs/resource-limits.md.
    resource_limits: Mapping[str, int] = dataclasses.field(
        default_factory=dict, metadata=_extension(_limit_capacities)
    )
    notifications: NotificationsConfig = dataclasses.field(
        default=NotificationsConfig(), metadata=_extension(_any_value)
    )
    render_statistics: bool = dataclasses.field(default=True, metadata=_extension(_any_value))
    render_statistics_retention: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(days=90), metadata=_extension(_not_negative)
    )
    # GET /metrics and the measurements behind it (docs/metrics.md).
    metrics_enabled: bool = dataclasses.field(default=True, metadata=_extension(_any_value))
    # Access control (docs/access-control.md): off by default, as upstream has none.
    access_control: bool = dataclasses.field(default=False, metadata=_extension(_any_value))
    worker_enrolment_secret: str = dataclasses.field(default="", metadata=_extension(_any_value))
    # HTTPS on `listen` with these PEM files; both empty: plain HTTP, as upstream.
    listen_tls_certificate: str = dataclasses.field(default="", metadata=_extension(_any_value))
    listen_tls_key: str = dataclasses.field(default="", metadata=_extension(_any_value))
    # A reverse proxy that logs people in (oauth2-proxy and the like) and says who in a header.
    trusted_proxy_addresses: str = dataclasses.field(default="", metadata=_extension(_networks))
    trusted_proxy_user_header: str = dataclasses.field(
        default="X-Forwarded-User", metadata=_extension(_any_value)
    )
    trusted_proxy_role: str = dataclasses.field(default="viewer", metadata=_extension(_role))
    oidc: OIDCConfig = dataclasses.field(default=OIDCConfig(), metadata=_extension(_oidc_complete))

    variables: Mapping[str, Variable] = dataclasses.field(default_factory=default_variables)


def default_config(platform: str | None = None) -> ManagerConfig:
    """The configuration used when there is no file, as on a Manager running on `platform`."""
    if platform is None:
        return ManagerConfig()
    return ManagerConfig(shaman=ShamanConfig(enabled=platform != "windows"))
