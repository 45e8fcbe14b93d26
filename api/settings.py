"""Service settings, from ``EXPLAIN_*`` environment variables (or a ``.env`` file), never built at import time."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from explain.audit._store import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    """Everything the service can be told.

    ``EXPLAIN_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://user@host/db``.
    ``EXPLAIN_BUNDLES``: comma-separated bundle directories; ``demo`` is the built-in demo bundle.
    """

    model_config = SettingsConfigDict(env_prefix="EXPLAIN_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    bundles: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["demo"])
    trusted_bundles: bool = False
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    default_locales: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["zh_CN", "en"])
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60, description=(
        "How long a worker trusts a key it has checked: the bound on how late a revocation bites."))
    migrate_on_start: bool = True
    warm_up: bool = True
    db_pool_size: int = Field(default=8, gt=0)
    compute_concurrency: int = Field(default=1, gt=0, description="Explanations computed at once per worker.")
    gc_freeze: bool = Field(default=False, description=(
        "Once started, move the start-up heap out of the garbage collector's sight (gc.freeze): a full "
        "collection over it (~370,000 objects: model, bundles, kernels) pauses a worker ~120 ms. "
        "`explain serve` turns it on; off for apps built again and again in one process (tests)."))
    max_page_size: int = Field(default=500, gt=0)
    # The Merkle log (explain.audit._log): its signing key lives in a file or secret store, never the database.
    log_key_file: str | None = Field(default=None, description=(
        "File holding the log's Ed25519 signing key (PRIVATE+KEY+...); unset: a development key created in var/."))
    log_interval_seconds: float = Field(default=0.2, gt=0, le=60, description="How often the sequencer integrates.")
    log_sequencer: bool = Field(default=True, description="Run the sequencer in this worker (any worker can).")
    log_witnesses: Annotated[list[str], NoDecode] = Field(default_factory=list, description=(
        "Comma-separated witness URLs (C2SP tlog-witness) each checkpoint is pushed to."))

    # ---- hardening: proxies, HTTPS, header limits, failed-authentication throttling (see SECURITY.md)
    public_url: str | None = Field(default=None, description=(
        "The URL users reach the service at; when it is https, cookies are Secure even if TLS ends at a proxy."))
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1"], description=(
        "Proxies (addresses or networks, '*' for any) whose X-Forwarded-For/-Proto are believed."))
    hsts_seconds: int = Field(default=31_536_000, ge=0, description="Strict-Transport-Security max-age over HTTPS; "
                                                                      "0 sends none.")
    max_header_count: int = Field(default=100, gt=0)
    max_header_line_bytes: int = Field(default=8 * 1024, gt=0)
    max_header_bytes: int = Field(default=32 * 1024, gt=0)
    auth_throttle: bool = Field(default=True, description="Delay and lock out repeated failed authentication.")
    auth_free_failures: int = Field(default=3, ge=0, description="Failures (per address, per key id) before delays.")
    auth_delay_seconds: float = Field(default=1.0, gt=0, description="The first delay; it doubles per failure.")
    auth_max_delay_seconds: float = Field(default=60.0, gt=0)
    auth_lockout_failures: int = Field(default=10, gt=0, description="Failures that lock the address or key id out.")
    auth_lockout_seconds: float = Field(default=900.0, gt=0, description="How long a lockout lasts; failures older "
                                                                         "than this are forgotten.")

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def public_https(self) -> bool:
        """Users reach the service over HTTPS (whatever the last hop to this process is)."""
        return bool(self.public_url) and self.public_url.lower().startswith("https://")

    @field_validator("bundles", "default_locales", "log_witnesses", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests pass their own to ``create_app`` instead. Routes take
    ``api.deps.SettingsDep`` (the settings the app was built with), never ``Depends(get_settings)``."""
    return Settings()
