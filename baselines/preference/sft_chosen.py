from __future__ import annotations

from bench.api import register_method
from bench.lm import preference_losses as L

from ._train import LrConfig, train_pairs


@register_method("sft_chosen", family="preference", config=LrConfig, kind="baseline")
def sft_chosen(data, cfg: LrConfig, ctx):
    """SFT on the chosen responses of all pairs (token-mean NLL, TRL's 'sft' term), shuffled: what MixDPO's routed
    pairs get, applied to every pair."""
    return train_pairs(data, cfg, ctx.rng, lambda b: L.token_mean_nll(b.pi_w, b.len_w), needs_ref=False,
                       chosen_only=True, log=ctx.log)
