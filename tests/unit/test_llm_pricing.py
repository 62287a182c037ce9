"""Prices from genai-prices and CURATION_LLM_PRICES: what a call with cache tokens costs."""

import pytest
from pydantic import ValidationError

from curation.errors import ConfigError
from curation.llm.pricing import BATCH_DISCOUNT, Price, Tokens, cost_usd, price_of
from curation.settings import Settings


def test_current_models_of_both_providers_have_prices_out_of_the_box() -> None:
    mini = price_of("openai", "gpt-5-mini", {})
    haiku = price_of("anthropic", "claude-haiku-4-5", {})
    assert (mini.input, mini.output) == (0.25, 2.0)
    assert (haiku.input, haiku.output, haiku.cache_read, haiku.cache_write) == (1.0, 5.0, 0.1, 1.25)


def test_cache_reads_cost_less_than_plain_input_and_cache_writes_more() -> None:
    price = price_of("anthropic", "claude-sonnet-4-5", {})
    plain = cost_usd(price, Tokens(input=10_000, output=100))
    read = cost_usd(price, Tokens(input=10_000, output=100, cache_read=9_000))
    written = cost_usd(price, Tokens(input=10_000, output=100, cache_write=9_000))
    assert read < plain < written
    assert read == pytest.approx((1_000 * 3 + 9_000 * 0.3 + 100 * 15) / 1e6)
    assert cost_usd(price, Tokens(10_000, 100), batched=True) == pytest.approx(plain * BATCH_DISCOUNT)


def test_the_setting_overrides_and_adds_models() -> None:
    assert price_of("openai", "gpt-5-mini", {"gpt-5-mini": [1, 2]}) == Price(1, 2, 1, 1)
    assert price_of("openai", "local-llama", {"local-llama": [0, 0]}) == Price(0, 0, 0, 0)
    assert price_of("anthropic", "mine", {"mine": [1, 2, 0.1, 1.5]}) == Price(1, 2, 0.1, 1.5)


def test_an_unknown_model_is_refused_with_how_to_set_its_price() -> None:
    with pytest.raises(ConfigError, match=r"no price for openai model 'my-finetune' in genai-prices or "
                                          r"CURATION_LLM_PRICES; set CURATION_LLM_PRICES='\{\"my-finetune\": "
                                          r"\[IN, OUT\]\}'"):
        price_of("openai", "my-finetune", {})


def test_a_price_list_of_the_wrong_length_is_refused_with_the_two_forms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CURATION_LLM_PRICES", '{"mine": [1, 2, 3]}')
    with pytest.raises(ValidationError, match=r"CURATION_LLM_PRICES\['mine'\] has 3 numbers; give \[in, out\] "
                                              r"or \[in, out, cache_read, cache_write\]"):
        Settings()
