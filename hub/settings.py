"""Settings: one class, read from the environment (prefix ``HUB_``) by the app factory and the CLI only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

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
    graphiql: bool = Field(default=False, description="Serve GraphiQL on GET /graphql (demo mode only)")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes for `hub serve`")
    db_pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connection pool size")
    statement_timeout_ms: int = Field(default=5000, ge=100, description="Per-statement timeout on PostgreSQL")
    request_timeout_s: float = Field(default=15.0, gt=0, description="Overall time a request may take")
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body accepted")
    issuer: str = Field(default="http://127.0.0.1:8000", description="Token issuer (iss) and audience base")
    token_ttl_s: int = Field(default=900, ge=60, le=86_400, description="Access token lifetime in seconds")
    demo_dir: str = Field(default=".hub-demo", description="Where `hub demo` writes its client credentials")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
