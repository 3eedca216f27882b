"""Token cleaning with a fixed reference model (Pang, Di, Zhu et al., 2025; UCSC-REAL/TokenCleaning
`fixed_model_cleaning.sh`): a token's influence is the change in its loss between the base model and a reference
model fine-tuned (the same way the harness fine-tunes) on a small high-quality set -- here the clean seed set,
    infl(t) = loss_base(t) - loss_ref(t),
high influence = the update made the token much more predictable = informative for the task. One global threshold
over all response tokens of the pool keeps the top `keep_ratio` (the repository's `select_token_level=global`,
`data_prop=0.6`); the rest get weight 0."""
from __future__ import annotations

from bench.api import register_method
from tasks.sft.contract import Selection

from ._common import RefConfig, base_losses, global_top, labelled, reference_losses, reference_model


class Config(RefConfig):
    keep_ratio: float = 0.6


def token_influence(data, ref, examples=None) -> list:
    """loss_base - loss_ref per token (0 where there is no label), both cached by content."""
    lb, lr = base_losses(data, examples), reference_losses(data, ref, examples)
    return [b - r for b, r in zip(lb, lr)]


@register_method("token_cleaning", family="sft.token_selection", config=Config, paper="Pang et al., 2025 (fixed ref)")
def token_cleaning(data, cfg: Config, ctx):
    """Fixed-reference token cleaning."""
    ref = reference_model(data, cfg)
    infl = token_influence(data, ref)
    return Selection(token_weights=global_top(infl, [labelled(e) for e in data.examples], cfg.keep_ratio))
