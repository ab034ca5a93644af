"""Settings from the environment and ``.env`` (see the table in README.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
SUPPORTED_DB_PREFIXES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
# What Telegram's setWebhook accepts (checked here so that a bad value stops the bot at once).
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
WEBHOOK_PORTS = (443, 80, 88, 8443)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def check_timezone(name: str) -> str:
    """An IANA zone name, or ValueError with an Indonesian explanation."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"zona waktu '{name}' tidak dikenal (contoh: Asia/Jakarta)") from None
    return name


def check_webhook_url(url: str) -> str:
    """A URL Telegram's setWebhook accepts (HTTPS, ports 443/80/88/8443), or ValueError."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise ValueError("harus URL HTTPS (https://...), Telegram menolak http://")
    if not parts.hostname:
        raise ValueError("nama host tidak ada (contoh: https://bot.contoh.go.id/telegram)")
    try:
        port = parts.port or 443
    except ValueError:
        raise ValueError("port tidak valid") from None
    if port not in WEBHOOK_PORTS:
        raise ValueError(f"port {port} tidak diterima Telegram; pakai 443, 80, 88 atau 8443")
    return url


def packaged_dir(package: str) -> Path | None:
    """The folder of a data-only package shipped in the wheel (knowledge, migrations)."""
    from importlib.util import find_spec

    try:
        spec = find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location)
        if path.is_dir():
            return path
    return None


class ConfigError(Exception):
    """Invalid configuration; the message is one readable line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_base_url: str = DEFAULT_BASE_URL
    database_url: str = "sqlite+aiosqlite:///data/opdbot.sqlite3"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    timezone: str = "Asia/Jakarta"
    knowledge_dir: Path = Path("knowledge")
    #: where the entry vectors of the semantic search are cached (keyed by content hash)
    vector_cache_dir: Path = Path("data") / "vectors"
    broadcast_rate: float = Field(default=25.0, gt=0, le=30)
    helpdesk_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: str | None = None
    #: how long a process holds an update it took from the inbox without renewing (a frozen
    #: or dead process's updates are taken over after this)
    inbox_lease_seconds: float = Field(default=15.0, ge=1, le=600)
    #: handled updates are kept this long (a redelivery within it is recognised), then purged
    inbox_retention_hours: float = Field(default=48.0, ge=1, le=24 * 30)
    feedback_retention_days: int = Field(default=180, ge=1)
    feedback_secret: str | None = None
    confirm_remind_hours: float = Field(default=3.0, ge=0, le=720)
    log_level: str = "INFO"
    startup_timeout: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if not TOKEN_RE.match(v):
            raise ValueError("bentuk token tidak valid (contoh: 123456789:AAE...)")
        return v

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admins(cls, v: object) -> frozenset[int]:
        if v is None or v == "":
            return frozenset()
        if isinstance(v, int):
            return frozenset([v])
        if isinstance(v, (list, tuple, set, frozenset)):
            parts = [str(p) for p in v]
        else:
            parts = [p.strip() for p in str(v).split(",") if p.strip()]
        out = set()
        for p in parts:
            if not re.fullmatch(r"-?\d+", p):
                raise ValueError(f"'{p}' bukan ID pengguna Telegram (harus angka)")
            out.add(int(p))
        return frozenset(out)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: check_timezone(v)))

    @field_validator("database_url")
    @classmethod
    def _db(cls, v: str) -> str:
        v = v.strip()
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            v = "postgresql+asyncpg://" + v.split("://", 1)[1]
        if not v.startswith(SUPPORTED_DB_PREFIXES):
            raise ValueError("hanya sqlite+aiosqlite:// atau postgresql+asyncpg:// yang didukung")
        return v

    @field_validator("telegram_base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("harus diawali http:// atau https://")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if len(v) > 256:
            raise ValueError("paling panjang 256 karakter (aturan Telegram)")
        if not WEBHOOK_SECRET_RE.match(v):
            raise ValueError(
                "hanya boleh huruf A-Z/a-z, angka, _ dan - (aturan Telegram; tanpa spasi)"
            )
        return v

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        return check_webhook_url(v)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolve_knowledge_dir(self) -> Path:
        """The knowledge folder: as configured, else the one beside the source tree, else the
        copy shipped inside the installed package."""
        p = self.knowledge_dir
        if p.is_absolute() or p.exists():
            return p
        fallback = PROJECT_ROOT / p
        if fallback.exists():
            return fallback
        shipped = packaged_dir("opdbot_knowledge")
        return shipped if shipped is not None and p == Path("knowledge") else p

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings; raise ConfigError with one line naming the variable and the problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("?",)
        name = str(loc[0]).upper()
        msg = err.get("msg", "tidak valid")
        msg = msg.removeprefix("Value error, ")
        raise ConfigError(f"Konfigurasi {name} tidak valid: {msg}") from None
