"""Settings: one class, read from the environment (prefix ``HUB_``) by the app factory and the CLI only."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from auth.issuers import IssuerConfig

LogLevel = Literal["debug", "info", "warning", "error"]

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def normalize_database_url(raw: str) -> str:
    """Accept the usual spellings of a SQLite or PostgreSQL URL and name the async driver.

    Raises ``ValueError`` with a sentence a person can act on.
    """
    try:
        url: URL = make_url(raw.strip())
    except ArgumentError:
        raise ValueError(
            f"HUB_DATABASE_URL {raw!r} is not a database URL; use sqlite+aiosqlite:///path/hub.db "
            "or postgresql+asyncpg://user@host:5432/dbname"
        ) from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(
            f"HUB_DATABASE_URL uses {url.drivername!r}; the hub runs on SQLite (sqlite+aiosqlite://) "
            "or PostgreSQL (postgresql+asyncpg://)"
        )
    url = url.set(drivername=driver)
    if driver.startswith("postgresql") and not url.database:
        raise ValueError("HUB_DATABASE_URL names no PostgreSQL database; add /dbname at the end")
    return url.render_as_string(hide_password=False)


class ConsoleOidcClient(BaseModel):
    """The console's client at one of the department's identity providers (``HUB_CONSOLE_OIDC``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(
        min_length=1, description="An issuer of HUB_ISSUERS: its unit map decides the audience"
    )
    client_id: str = Field(min_length=1, description="The console's client id at that provider")
    client_secret: SecretStr | None = Field(
        default=None, description="Its secret, for a confidential client (PKCE is used either way)"
    )
    scope: str = Field(default="openid", description="Scopes asked for; must include openid")
    label: str | None = Field(default=None, description="The sign-in button's words (default: the issuer)")

    @model_validator(mode="after")
    def _openid(self) -> ConsoleOidcClient:
        if "openid" not in self.scope.split():
            raise ValueError(f"HUB_CONSOLE_OIDC {self.issuer}: scope must include openid")
        return self


class Settings(BaseSettings):
    """Every knob of the hub. Field descriptions are the documentation of the environment variables."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", frozen=True)

    database_url: str = Field(
        default_factory=lambda: f"sqlite+aiosqlite:///{Path.cwd() / 'hub.db'}",
        description="SQLAlchemy URL of the store: SQLite (default, ./hub.db) or postgresql+asyncpg://",
    )
    host: str = Field(default="127.0.0.1", description="Address the server binds")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the server binds")
    log_level: LogLevel = Field(default="info", description="debug, info, warning or error")
    execution: Literal["compiled", "resolvers"] = Field(
        default="compiled",
        description="How queries run: `compiled` (each declared root field is one SQL statement that "
        "builds its JSON in the store; the rest on resolvers) or `resolvers` (graphql-core field by field, "
        "the reference the compiled path is tested against)",
    )
    graphiql: bool = Field(default=False, description="Serve GraphiQL on GET /graphql (demo mode only)")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes for `hub serve`")
    db_pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connection pool size")
    statement_timeout_ms: int = Field(default=5000, ge=100, description="Per-statement timeout on PostgreSQL")
    request_timeout_s: float = Field(default=15.0, gt=0, description="Overall time a request may take")
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body accepted")
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest a client may take to send its request line and headers",
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="Longest a client may take to send its request body"
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Open connections per `hub serve` process; more are refused",
    )
    keep_alive_s: float = Field(
        default=5.0, gt=0, le=300, description="How long an idle kept-alive connection stays open"
    )
    http: Literal["httptools", "h11"] = Field(
        default="httptools",
        description="HTTP/1.1 parser of `hub serve`: `httptools` (C, uvicorn's fast one) or `h11` (pure "
        "Python); both with the header deadline and the connection cap (docs/hardening.md)",
    )
    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL of the hub: the `iss` of its tokens, whose `aud` is <issuer>/graphql (default: http://HOST:PORT)",
    )
    token_ttl_s: int = Field(default=900, ge=60, le=86_400, description="Access token lifetime in seconds")
    demo_dir: str = Field(default=".hub-demo", description="Where `hub demo` writes its client credentials")
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the Prometheus metrics listener (unset: no metrics listener)",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics listeners bind")
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of `hub worker`'s Prometheus metrics listener (unset: none)",
    )
    signing_alg: Literal["RS256", "ES256"] = Field(
        default="RS256",
        description="Algorithm of new signing keys (RS256 is what every RFC 9068 verifier reads)",
    )
    key_passphrase: SecretStr | None = Field(
        default=None,
        description="Encrypts signing keys at rest in the store; needed to read keys made with it",
    )
    key_cache_s: float = Field(
        default=30.0, ge=0, le=600, description="How long a process trusts its copy of the signing keys"
    )
    key_rotate_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a signing key signs before its rotation is due (reported, never done for you)",
    )
    client_status_cache_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description=(
            "How long a token's client status and revocation, and a client's registered operations, are cached:"
            " a disabled client's tokens and a removed operation stop within it"
        ),
    )
    auth_throttle_after: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed authentications of one client id from one address before that address waits",
    )
    auth_throttle_address_after: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Failed authentications from one address, whatever the client ids, before it waits",
    )
    auth_throttle_max_s: int = Field(
        default=900, ge=1, le=86_400, description="Longest wait; waits start at 1 s and double per failure"
    )
    auth_throttle_forget_s: int = Field(
        default=3600, ge=60, le=604_800, description="Failures are forgotten this long after the last one"
    )
    auth_failures_per_minute: int = Field(
        default=600,
        ge=1,
        description="Failed authentications per minute for the whole hub past which every failing address waits",
    )
    secret_pepper: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key of the HMAC that client secrets are stored as; unset: one the hub keeps in the store",
    )
    max_assertion_chars: int = Field(
        default=8192, ge=512, le=8192, description="Largest private_key_jwt client assertion accepted"
    )
    issuers: list[IssuerConfig] = Field(
        default_factory=list,
        description="The department's identity providers for staff sign-in, as a JSON list (see docs/configuration.md)",
    )
    issuer_jwks_cache_s: float = Field(
        default=300.0, ge=0, le=86_400, description="How long an identity provider's fetched keys are cached"
    )
    console: bool = Field(
        default=True, description="Serve the department's console on /console (docs/console.md)"
    )
    console_session_timeout_s: int = Field(
        default=900,
        ge=60,
        le=43_200,
        description="Idle seconds after which a console session ends (the sign-in's token lifetime bounds it too)",
    )
    console_oidc: list[ConsoleOidcClient] = Field(
        default_factory=list,
        description="The console's sign-in through identity providers of HUB_ISSUERS, as a JSON list (docs/console.md)",
    )
    console_demo_signin: bool = Field(
        default=False,
        description="The console's demo sign-in: `hub demo` sets it; refused unless the store is the demo's own",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @model_validator(mode="before")
    @classmethod
    def _issuer_follows_the_address(cls, data: Any) -> Any:
        # Unless set, the issuer is where the server listens, so `HUB_PORT=9000 hub demo` issues
        # tokens whose `iss` and token endpoint are on port 9000.
        if isinstance(data, dict) and not data.get("issuer"):
            data = {**data, "issuer": f"http://{data.get('host') or '127.0.0.1'}:{data.get('port') or 8000}"}
        return data

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("HUB_ISSUER must be the hub's public base URL, e.g. https://hub.example.gov")
        return value.rstrip("/")

    @field_validator("issuers")
    @classmethod
    def _distinct_issuers(cls, value: list[IssuerConfig]) -> list[IssuerConfig]:
        names = [item.issuer for item in value]
        if len(names) != len(set(names)):
            raise ValueError("HUB_ISSUERS names the same issuer twice")
        return value

    @model_validator(mode="after")
    def _console_oidc_issuers_are_configured(self) -> Settings:
        known = {config.issuer for config in self.issuers}
        for client in self.console_oidc:
            if client.issuer not in known:
                raise ValueError(
                    f"HUB_CONSOLE_OIDC names the issuer {client.issuer}, which HUB_ISSUERS does not configure "
                    "(the console signs in only through the hub's own staff issuers)"
                )
        return self

    @model_validator(mode="after")
    def _demo_signin_only_on_the_demo_store(self) -> Settings:
        # The demo sign-in hands anyone a staff token: it exists on the store `hub demo` made, nowhere
        # else (the console checks the store's own demo marker again before each demo sign-in).
        if self.console_demo_signin and not self.is_demo_store:
            raise ValueError(
                "HUB_CONSOLE_DEMO_SIGNIN is for `hub demo` only: the store must be the demo's "
                f"{Path(self.demo_dir) / 'hub.db'} (SQLite), not {make_url(self.database_url).render_as_string()}"
            )
        return self

    @property
    def is_demo_store(self) -> bool:
        """Whether the store is the SQLite file ``hub demo`` makes in ``HUB_DEMO_DIR``."""
        if not self.is_sqlite:
            return False
        database = make_url(self.database_url).database
        if not database or database == ":memory:":
            return False
        return Path(database).resolve() == (Path(self.demo_dir) / "hub.db").resolve()

    @property
    def passphrase(self) -> str | None:
        return self.key_passphrase.get_secret_value() if self.key_passphrase else None

    @property
    def secret_pepper_key(self) -> bytes | None:
        """``HUB_SECRET_PEPPER`` as the HMAC key client secrets are hashed with; None: the store's own."""
        return self.secret_pepper.get_secret_value().encode() if self.secret_pepper else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    # --- victim notification (`hub worker`) ------------------------------------------------------------
    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server that sends victim notification email"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls", description="none, starttls (upgrade the connection) or tls (implicit TLS)"
    )
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server needs one")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_from: str = Field(
        default="Office of Victim Services <victim.services@localhost>",
        description="From address of notification email",
    )
    smtp_timeout_s: float = Field(default=20.0, gt=0, le=300, description="Longest an SMTP delivery may take")
    sms_gateway_url: str | None = Field(
        default=None, description="HTTP messaging gateway that sends text messages and calls (POST JSON)"
    )
    sms_gateway_token: SecretStr | None = Field(default=None, description="Bearer token for the gateway")
    gateway_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Longest a gateway call may take"
    )
    notify_max_attempts: int = Field(
        default=5,
        ge=1,
        le=50,
        description="Attempts per notification (and deliveries awaiting acknowledgement)",
    )
    notify_backoff_s: float = Field(default=60.0, gt=0, description="First retry delay; doubles each attempt")
    notify_backoff_max_s: float = Field(default=21_600.0, gt=0, description="Longest retry delay")
    notify_ack_repeat_s: float = Field(
        default=3600.0,
        gt=0,
        description="How long an acknowledgement is awaited before the notice is repeated",
    )
    notify_ack_secret: SecretStr | None = Field(
        default=None, description="Signs acknowledgement codes so that repeats carry the same code"
    )
    notify_lease_s: float = Field(
        default=120.0, ge=1, le=3600, description="How long a worker holds a claimed notification"
    )
    worker_batch: int = Field(default=20, ge=1, le=500, description="Notifications a worker claims at once")
    worker_poll_s: float = Field(default=5.0, gt=0, le=3600, description="Worker pause when nothing is due")
    worker_heartbeat_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Longest time between two heartbeats a worker writes to the store; "
        "`hubHealth` calls it stale after three",
    )
    victim_embargo_minutes: float = Field(
        default=60.0,
        ge=0,
        le=10_080,
        description="How long every release-type event is withheld from partners, so victims hear first",
    )

    # --- performance ---------------------------------------------------------------------------------
    gc_tuning: bool = Field(
        default=True,
        description="Freeze the start-up heap and collect short-lived objects less often (off: Python's defaults)",
    )
    ledger: Literal["on", "off-for-benchmark"] = Field(
        default="on",
        description="The disclosure ledger; off-for-benchmark serves without recording anything and exists only to measure the ledger's cost",
    )
    ledger_batch_ms: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description="Group commit of ledger events: how long an idle process waits for more requests' events before writing (0: each event in its own transaction)",
    )

    # --- hardening: limits on one operation, rate limits, CORS, the store's pool --------------------
    max_depth: int = Field(
        default=10, ge=1, le=100, description="Deepest selection nesting an operation may have"
    )
    max_aliases: int = Field(default=15, ge=0, le=1000, description="Most aliases one document may use")
    max_tokens: int = Field(
        default=1000, ge=10, le=100_000, description="Most lexical tokens one document may have"
    )
    max_directives: int = Field(default=20, ge=0, le=1000, description="Most directives one document may use")
    max_query_length: int = Field(
        default=15_000, ge=100, le=1_000_000, description="Longest query text accepted, in characters"
    )
    max_cost: int = Field(
        default=50_000,
        ge=1,
        description="Highest static cost of one operation, for every audience not listed below",
    )
    max_cost_by_audience: dict[str, int] = Field(
        default_factory=dict,
        description='Highest cost per audience, as JSON, e.g. {"researcher": 200000}; others use HUB_MAX_COST',
    )
    rate_requests_per_minute: int = Field(
        default=1200,
        ge=0,
        description="Requests a client may send per minute unless its own limit is set (0: no limit)",
    )
    rate_cost_per_minute: int = Field(
        default=2_000_000,
        ge=0,
        description="Total operation cost a client may spend per minute unless its own limit is set (0: no limit)",
    )
    rate_flush_ms: int = Field(
        default=200,
        ge=0,
        le=5000,
        description="How often a process adds its pending rate counts to the store; 0: every request is written at once",
    )
    apq_max_per_client: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Operations a client may register itself through APQ; past it, its least recently used one goes",
    )
    apq_expire_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days an operation registered through APQ is kept unused before it is dropped",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Browser origins allowed to call the hub, as JSON, e.g. ["https://portal.example.gov"] (default: none)',
    )
    db_connect_timeout_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Longest wait for a new PostgreSQL connection (a down store fails this fast)",
    )
    db_pool_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest a request waits for a free pooled connection before a 503 STORE_BUSY",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='Proxies whose X-Forwarded-For is believed, as JSON addresses or CIDRs, e.g. ["10.0.0.0/8"] (default: none, the peer address is the source)',
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="production refuses to serve as the tables' owner or a superuser (see Disclosure ledger)",
    )
    migrate_database_url: str | None = Field(
        default=None,
        description="URL `hub migrate` connects with: the tables' owner (default: HUB_DATABASE_URL)",
    )
    runtime_role: str = Field(
        default="hub_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL role `hub serve` and `hub worker` connect as; `hub migrate` grants it only what the hub needs",
    )
    read_database_url: str | None = Field(
        default=None,
        description="A PostgreSQL streaming replica GraphQL queries read from (unset: everything on HUB_DATABASE_URL)",
    )
    replica_max_lag_s: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="Queries read from the primary while the replica is further behind than this",
    )
    replica_check_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a process measures the replica's lag (and retries a replica that was down)",
    )
    read_after_write_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="A client's queries this long after its own mutation read from the primary (per process; 0: off)",
    )
    checkpoint_interval_s: int = Field(
        default=900,
        ge=0,
        description="Seconds between signed ledger checkpoints `hub serve` writes to its log and records in "
        "the store (0: none)",
    )

    @field_validator("max_cost_by_audience")
    @classmethod
    def _known_audiences(cls, value: dict[str, int]) -> dict[str, int]:
        from resolvers.models.partners import Audience

        unknown = sorted(set(value) - {a.value for a in Audience})
        if unknown:
            raise ValueError(f"HUB_MAX_COST_BY_AUDIENCE names unknown audiences: {', '.join(unknown)}")
        if any(cost < 1 for cost in value.values()):
            raise ValueError("HUB_MAX_COST_BY_AUDIENCE costs must be positive")
        return value

    @field_validator("migrate_database_url")
    @classmethod
    def _migrate_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalize_database_url(value)
        except ValueError as exc:
            raise ValueError(str(exc).replace("HUB_DATABASE_URL", "HUB_MIGRATE_DATABASE_URL")) from None

    @field_validator("read_database_url")
    @classmethod
    def _read_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            url = normalize_database_url(value)
        except ValueError as exc:
            raise ValueError(str(exc).replace("HUB_DATABASE_URL", "HUB_READ_DATABASE_URL")) from None
        if not url.startswith("postgresql"):
            raise ValueError(
                "HUB_READ_DATABASE_URL must be a PostgreSQL streaming replica (postgresql+asyncpg://)"
            )
        return url

    @model_validator(mode="after")
    def _replica_settings(self) -> Settings:
        if self.read_database_url is None:
            return self
        if self.is_sqlite:
            raise ValueError("HUB_READ_DATABASE_URL needs HUB_DATABASE_URL to be its PostgreSQL primary")
        bound = self.replica_max_lag_s + self.replica_check_s
        if 0 < self.read_after_write_s < bound:
            # Past the window a query may go to a replica up to max lag + one check interval behind.
            raise ValueError(
                f"HUB_READ_AFTER_WRITE_S ({self.read_after_write_s:g}) must be 0 or at least "
                f"HUB_REPLICA_MAX_LAG_S + HUB_REPLICA_CHECK_S ({bound:g}), or a client's query after its "
                "own mutation could read a replica that has not replayed it yet"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"HUB_TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR like 10.0.0.0/8"
                ) from None
        return [entry.strip() for entry in value]

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("https://", "http://")):
                raise ValueError(f"HUB_CORS_ORIGINS entry {origin!r} is not an origin like https://host")
        return [origin.rstrip("/") for origin in value]


# --- the environment a person wrote: unknown variables, malformed values --------------------------

#: Variables with the prefix that are not settings but are read by the test suite and the benchmarks.
NOT_SETTINGS_PREFIXES = ("HUB_TEST_", "HUB_BENCH_")


def setting_names() -> list[str]:
    """Every environment variable the hub reads, e.g. ``HUB_DATABASE_URL``."""
    return sorted(f"HUB_{name.upper()}" for name in Settings.model_fields)


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """``HUB_`` variables that name no setting, each with the closest setting's name (or None)."""
    known = setting_names()
    unknown = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("HUB_") or upper in known or upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
        unknown.append((name, close[0] if close else None))
    return unknown


def explain_settings_error(exc: Exception) -> str:
    """One line for a value pydantic-settings could not even parse (malformed JSON in a list setting)."""
    match = re.search(r'field "(\w+)"', str(exc))
    variable = f"HUB_{match.group(1).upper()}" if match else "a HUB_ setting"
    cause = exc.__cause__
    detail = f" ({cause})" if isinstance(cause, json.JSONDecodeError) else ""
    example = {
        "HUB_CORS_ORIGINS": '["https://portal.example.gov"]',
        "HUB_ISSUERS": '[{"issuer": "https://login.example.gov", "jwks_url": "…", …}]',
        "HUB_MAX_COST_BY_AUDIENCE": '{"researcher": 200000}',
    }.get(variable)
    hint = f", e.g. {example}" if example else ""
    return f"{variable} is not valid JSON{detail}; write it as JSON{hint}"
