"""What a call costs (the configurable price table) and the spending cap shared by the workers
of one run."""

import threading

from curation.errors import BudgetExceeded, ConfigError


def price_of(model: str, prices: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """USD per million (input, output) tokens; refusing unknown models keeps the cap meaningful."""
    if model not in prices:
        raise ConfigError(
            f"no price for model {model!r} in CURATION_LLM_PRICES (known: {', '.join(sorted(prices))}); "
            f'set CURATION_LLM_PRICES=\'{{"{model}": [IN, OUT]}}\' in USD per million tokens, '
            "[0, 0] for a local server"
        )
    return prices[model]


def cost_usd(price: tuple[float, float], tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


class Budget:
    """Thread-safe running total. A call is refused once the cap is reached, so a run overshoots
    by at most the calls already in flight (one per worker)."""

    def __init__(self, cap_usd: float) -> None:
        self.cap_usd = cap_usd
        self.spent_usd = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            if self.spent_usd >= self.cap_usd:
                raise BudgetExceeded(
                    f"spending cap of ${self.cap_usd:.2f} reached (spent ${self.spent_usd:.4f}); "
                    "raise CURATION_LLM_BUDGET_USD or run `reason` again to continue"
                )

    def charge(self, amount_usd: float) -> None:
        with self._lock:
            self.spent_usd += amount_usd

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.spent_usd >= self.cap_usd
