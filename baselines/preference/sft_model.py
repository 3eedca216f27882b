from __future__ import annotations

from bench.api import register_method


@register_method("sft_model", family="preference", kind="null")
def sft_model(data, cfg, ctx):
    """No preference training: the SFT policy itself (its answers are the baseline's: win rate and LC exactly 50)."""
    return data.policy
