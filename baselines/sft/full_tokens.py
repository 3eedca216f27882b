from __future__ import annotations

from bench.api import register_method
from tasks.sft.contract import Selection


@register_method("full_tokens", family=("sft.token_selection", "sft.sample_selection"), kind="baseline")
def full_tokens(data, cfg, ctx):
    """Train on every response token of every sample (standard SFT)."""
    return Selection()
