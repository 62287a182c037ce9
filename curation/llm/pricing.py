"""What a call costs and the spending caps.

Prices come from genai-prices (a maintained table of both providers' list prices, read from the
snapshot in the pinned package, never fetched at run time); CURATION_LLM_PRICES overrides or adds
models. Batch requests are billed at BATCH_DISCOUNT of list price by both Anthropic (Message
Batches) and OpenAI (Batch API)."""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage, calc_price
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from curation.errors import BudgetExceeded, ConfigError
from db.models import LLMSpend
from db.session import session_scope

BATCH_DISCOUNT = 0.5
MILLION = 1_000_000
SAMPLE = 1_000


@dataclass(frozen=True)
class Price:
    """USD per million tokens: plain input, output, input read from the prompt cache, input
    written to it."""

    input: float
    output: float
    cache_read: float
    cache_write: float


@dataclass(frozen=True)
class Tokens:
    """One call's usage. input counts every prompt token, cached ones included."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0


def _from_override(values: list[float]) -> Price:
    """[in, out] bills cached input at the plain input price; [in, out, read, write] sets all."""
    if len(values) == 2:
        return Price(values[0], values[1], values[0], values[0])
    return Price(*values)


def _from_genai_prices(provider: str, model: str) -> Price | None:
    """The base rates. Asked for a thousand tokens, scaled up: a million at once would be priced
    at the long-context tier some models charge above 200k prompt tokens."""
    def rate(**tokens: int) -> Decimal:
        calc = calc_price(Usage(**tokens), model, provider_id=provider)
        return (calc.input_price + calc.output_price) * (MILLION // SAMPLE)

    try:
        return Price(float(rate(input_tokens=SAMPLE)), float(rate(output_tokens=SAMPLE)),
                     float(rate(input_tokens=SAMPLE, cache_read_tokens=SAMPLE)),
                     float(rate(input_tokens=SAMPLE, cache_write_tokens=SAMPLE)))
    except LookupError:
        return None


def price_of(provider: str, model: str, overrides: dict[str, list[float]]) -> Price:
    """The model's prices; refusing a model with no known price keeps the caps meaningful."""
    if model in overrides:
        return _from_override(overrides[model])
    price = _from_genai_prices(provider, model)
    if price is None:
        raise ConfigError(
            f"no price for {provider} model {model!r} in genai-prices or CURATION_LLM_PRICES; "
            f'set CURATION_LLM_PRICES=\'{{"{model}": [IN, OUT]}}\' (or [IN, OUT, CACHE_READ, '
            "CACHE_WRITE]) in USD per million tokens, [0, 0] for a local server"
        )
    return price


def cost_usd(price: Price, tokens: Tokens, batched: bool = False) -> float:
    plain = tokens.input - tokens.cache_read - tokens.cache_write
    usd = (plain * price.input + tokens.cache_read * price.cache_read
           + tokens.cache_write * price.cache_write + tokens.output * price.output) / MILLION
    return usd * BATCH_DISCOUNT if batched else usd


class Budget:
    """Thread-safe running total of one run. A call is refused once the cap is reached, so a run
    overshoots by at most the calls already in flight (one per worker)."""

    def __init__(self, cap_usd: float, setting: str = "CURATION_LLM_BUDGET_USD") -> None:
        self.cap_usd, self.setting = cap_usd, setting
        self.spent_usd = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.exhausted:
            raise BudgetExceeded(
                f"spending cap of ${self.cap_usd:.2f} reached (spent ${self.spent_usd:.4f}); "
                f"raise {self.setting} or run `reason` again to continue"
            )

    def charge(self, amount_usd: float) -> None:
        with self._lock:
            self.spent_usd += amount_usd

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.spent_usd >= self.cap_usd


def today() -> str:
    return datetime.now(UTC).date().isoformat()


class DailyBudget(Budget):
    """The cap of automatic assessments per UTC day, kept in the llm_spend row of the day rather
    than in memory, so every worker process reads and adds to the same total."""

    def __init__(self, cap_usd: float) -> None:
        super().__init__(cap_usd, "CURATION_LLM_AUTO_DAILY_USD")

    def charge(self, amount_usd: float) -> None:
        day = today()
        with session_scope() as session:  # an atomic increment: no read-modify-write race
            updated = session.execute(update(LLMSpend).where(LLMSpend.day == day)
                                      .values(spent_usd=LLMSpend.spent_usd + amount_usd)).rowcount
        if not updated:
            try:
                with session_scope() as session:
                    session.add(LLMSpend(day=day, spent_usd=amount_usd))
            except IntegrityError:  # another worker created the day's row first
                self.charge(amount_usd)

    @property
    def exhausted(self) -> bool:
        with session_scope() as session:
            self.spent_usd = spent_today(session)
        return self.spent_usd >= self.cap_usd


def spent_today(session: Session) -> float:
    return session.scalar(select(LLMSpend.spent_usd).where(LLMSpend.day == today())) or 0.0
