"""The one settings object. Every knob is read from the environment (prefix CURATION_) here and
nowhere else, so the README's configuration table and the code cannot drift apart."""

import os
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from curation.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURATION_", extra="ignore")

    home: Path = Field(Path(".curation"), description="Data folder: SQLite file, models, job queue.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite at CURATION_HOME/curation.db."
    )
    task_file: Path | None = Field(
        None, description="TOML file with the task (labels, guideline); default research-radar."
    )
    sqlite_busy_timeout_s: float = Field(
        30.0, description="How long a SQLite writer waits for another before giving up."
    )
    base_model: str = Field(
        "answerdotai/ModernBERT-base",
        description="Classifier base model: a hub name or a local folder; falls back to the "
        "packaged all-MiniLM-L6-v2 when it cannot be loaded.",
    )
    hub_offline: bool = Field(
        False, description="Never try the model hub; only local folders, the HF cache, the packaged model."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where the classifier runs; auto uses a GPU when there is one."
    )
    train_encoder: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Fine-tune the whole encoder (auto: on a GPU) or train only a head on frozen "
        "window embeddings (fast on CPU).",
    )
    memory_saver: bool = Field(
        False, description="Score with int8 dynamic quantisation and 128-token windows."
    )
    compute_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Number format of the classifier's arithmetic; auto uses bfloat16 where the "
        "CPU or GPU has it (about twice as fast, probabilities within 0.01), else float32.",
    )
    window_tokens: int = Field(128, ge=16, description="Tokens per window over a long document.")
    window_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring windows.")
    score_batch_size: int = Field(32, ge=1, description="Windows per forward pass when scoring.")
    torch_threads: int = Field(0, ge=0, description="CPU threads for torch; 0 means all cores.")
    min_labels_per_class: int = Field(
        8, ge=2, description="Labels of each class needed to train; below it a cold-start scorer is used."
    )

    lease_minutes: float = Field(
        10.0, description="How long an item served to one curator stays reserved for them."
    )

    auth: bool = Field(
        False, description="Accounts on: login required, roles enforced; needed to listen beyond 127.0.0.1."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins in a row that lock an account."
    )
    lockout_minutes: float = Field(15.0, gt=0, description="How long a locked account stays locked.")
    session_hours: float = Field(12.0, gt=0, description="How long a login lasts before it expires.")
    sso: Literal["off", "email", "name"] = Field(
        "off", description="Single sign-on (st.login, OIDC) maps an identity to the existing user "
        "named by its email, or by the part before the @ of an email in CURATION_SSO_DOMAIN.",
    )
    sso_domain: str = Field("", description="With CURATION_SSO=name: the one email domain accepted.")
    secrets_file: Path | None = Field(
        None, description="KEY=VALUE file for API keys, read when the environment lacks them."
    )

    # Fetching (curation/fetch). Polite by default: robots.txt, a few requests per host at once.
    fetch_user_agent: str = Field(
        "CurationBot/0.1 (+https://github.com/curation; human-in-the-loop research curation)",
        description="User-Agent sent with every request and matched against robots.txt.",
    )
    fetch_connect_timeout_s: float = Field(10.0, description="Seconds to open a connection.")
    fetch_read_timeout_s: float = Field(20.0, description="Seconds a response may stall between reads.")
    fetch_total_timeout_s: float = Field(60.0, description="Seconds one response may take in all.")
    fetch_max_bytes: int = Field(10_000_000, description="Largest response body read, after decompression.")
    fetch_concurrency: int = Field(16, description="Downloads in flight at once, over all hosts.")
    fetch_per_host: int = Field(4, description="Downloads in flight at once to one host.")
    fetch_respect_robots: bool = Field(True, description="Skip pages robots.txt disallows for our agent.")
    fetch_retries: int = Field(3, description="Retries after a timeout, 429 or 5xx before giving up.")
    fetch_backoff_s: float = Field(1.0, description="First retry wait; doubles each retry. Retry-After wins.")
    fetch_max_wait_s: float = Field(60.0, description="Longest single wait between retries.")
    fetch_max_redirects: int = Field(5, description="Redirect hops followed; each hop is checked again.")
    fetch_min_chars: int = Field(300, description="Less extracted text than this is stored as too_short.")
    fetch_extract_workers: int = Field(
        0, description="Processes for text extraction; 0 means one per CPU core."
    )
    fetch_feed_max_entries: int = Field(200, description="Entries taken from one feed or sitemap.")
    allow_private_hosts: bool = Field(
        False, description="Fetch loopback/private addresses too: for local use and tests only."
    )
    youtube_languages: str = Field(
        "en", description="Transcript languages in order of preference, comma-separated."
    )
    youtube_proxy_http: str = Field("", description="youtube-transcript-api GenericProxyConfig http_url.")
    youtube_proxy_https: str = Field("", description="youtube-transcript-api GenericProxyConfig https_url.")
    youtube_webshare_username: str = Field("", description="Webshare rotating-proxy user (WebshareProxyConfig).")
    youtube_webshare_password: SecretStr = Field(
        SecretStr(""), description="Webshare rotating-proxy password; from the environment only."
    )

    # Background jobs (curation/jobs.py, curation/worker.py).
    redis_url: str = Field(
        "", description="Redis URL of the job queue (redis://host:6379/0); empty: SQLite in CURATION_HOME."
    )
    queue_name: str = Field(
        "curation", description="Name of the job queue, so several deployments can share one Redis."
    )
    workers: int = Field(1, ge=1, description="Jobs one `worker` process runs at once (threads).")
    job_stale_after_s: float = Field(
        60.0, gt=0, description="A running job whose worker sent no heartbeat for this long is marked "
        "failed and run once more.",
    )
    retrain_every_labels: int = Field(
        50, ge=0, description="Queue a retrain after this many new labels; 0 switches it off."
    )
    retrain_cron: str = Field(
        "", description="Cron schedule (minute hour day month weekday, UTC) to retrain; empty: off."
    )
    feed_urls: list[str] = Field(
        default_factory=list, description='Feeds re-read on the feed schedule, as JSON: ["https://..."].'
    )
    feed_cron: str = Field(
        "0 * * * *", description="Cron schedule (UTC) to re-read CURATION_FEED_URLS; empty: off."
    )

    def secret(self, name: str) -> str | None:
        """An API key by its usual name (e.g. ANTHROPIC_API_KEY): the environment first, then
        secrets_file. Secrets live only there, never in the database or this object's dump."""
        return os.environ.get(name) or self.file_secrets.get(name)

    def secret_values(self) -> set[str]:
        """Every secret value in reach, so logs can mask them: the secrets file and environment
        variables whose names say they hold a key, token, secret or password."""
        from_env = {value for name, value in os.environ.items() if SECRET_NAME.search(name)}
        return {v for v in from_env | set(self.file_secrets.values()) if len(v) >= 8}

    @cached_property
    def file_secrets(self) -> dict[str, str]:
        """KEY=VALUE lines of secrets_file, read once; '#' starts a comment line."""
        if self.secrets_file is None:
            return {}
        if not self.secrets_file.is_file():
            raise ConfigError(
                f"CURATION_SECRETS_FILE {self.secrets_file} does not exist; create it or unset it"
            )
        pairs = (line.split("=", 1) for line in self.secrets_file.read_text().splitlines()
                 if "=" in line and not line.lstrip().startswith("#"))
        return {key.strip(): value.strip().strip("'\"") for key, value in pairs}

    llm_provider: Literal["anthropic", "openai"] = Field(
        "anthropic", description="LLM API: anthropic (Messages) or openai (Chat Completions)."
    )
    llm_model: str = Field("claude-sonnet-4-5", description="Model name sent to the LLM API.")
    llm_base_url: str | None = Field(
        None, description="API base URL; for openai any compatible server (vLLM, Ollama), with /v1."
    )
    llm_prompt_version: str = Field("v1", description="Prompt file curation/llm/prompts/VERSION.toml.")
    llm_timeout_s: float = Field(60.0, description="Seconds one LLM API call may take.")
    llm_retries: int = Field(3, description="Retries of a call after 429, 5xx, timeout or lost connection.")
    llm_backoff_s: float = Field(2.0, description="First retry wait, doubled each time, unless retry-after says.")
    llm_max_steps: int = Field(8, description="Most model calls (thought -> tool) per document.")
    llm_max_tokens: int = Field(1024, description="Most output tokens per model call.")
    llm_max_item_tokens: int = Field(
        60_000, description="Input+output tokens per document after which the verdict is forced."
    )
    llm_concurrency: int = Field(4, description="Documents assessed at once.")
    llm_budget_usd: float = Field(5.0, description="Spending cap of one `reason` run in USD.")
    llm_prices: dict[str, list[float]] = Field(
        {},
        description="USD per million tokens by model, JSON: {\"model\": [in, out]} or [in, out, "
        "cache_read, cache_write]; overrides or adds to the genai-prices table.",
    )
    # issue 16: batches, automatic assessment of uncertain items, classifier cost
    llm_batch_poll_s: float = Field(30.0, description="Seconds between polls of a provider batch.")
    llm_auto: bool = Field(
        False, description="Assess newly scored items in the uncertainty band automatically."
    )
    llm_auto_band: float = Field(
        0.15, description="Auto-assess items whose score is within this distance of the 0.5 threshold."
    )
    llm_auto_daily_usd: float = Field(1.0, description="Most USD automatic assessments spend per UTC day.")
    classifier_usd_per_hour: float = Field(
        0.10, description="USD per hour of the scoring machine, for the classifier's cost per 1,000 items."
    )

    @field_validator("llm_prices")
    @classmethod
    def _two_or_four_prices(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for model, prices in value.items():
            if len(prices) not in (2, 4):
                raise ValueError(f"CURATION_LLM_PRICES[{model!r}] has {len(prices)} numbers; give "
                                 "[in, out] or [in, out, cache_read, cache_write]")
        return value

    # Parameters carry privileges (issue 14): where a train job's base_model may be a folder.
    model_roots: list[Path] = Field(
        default_factory=list,
        description="Folders a train job's base_model may point into (JSON list); empty means "
        "CURATION_HOME/models. The packaged model and hub names are always allowed.",
    )

    # Curator power tools (issue 17): near-duplicates at import and ingest.
    near_duplicate_threshold: float = Field(
        0.8, gt=0, le=1, description="Estimated Jaccard similarity of 3-word shingles (MinHash) at "
        "which a new item is marked a near-duplicate of an earlier one.",
    )

    # Team curation (overlap, agreement, adjudication).
    overlap: float = Field(
        0.0, ge=0.0, le=1.0,
        description="Share of items served to two curators independently, for agreement and "
        "adjudication; chosen by a stable hash of the item id.",
    )

    @field_validator("llm_base_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`export CURATION_LLM_BASE_URL=` means the SDK's default, not an empty URL."""
        return None if value == "" else value

    @property
    def allowed_model_roots(self) -> list[Path]:
        return [root.resolve() for root in self.model_roots or [self.home / "models"]]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'curation.db').resolve()}"


SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call get_settings.cache_clear()."""
    return Settings()
