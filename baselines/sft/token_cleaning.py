"""Token cleaning with a fixed reference model (Pang, Di, Zhu et al., 2025): a token's influence is the change in its
loss between the base model and a reference model fine-tuned on a small high-quality set,
    infl(t) = loss_base(t) - loss_ref(t),
high influence = the model update made the token much more predictable = informative for the task. One global
threshold keeps the top `keep_ratio` of response tokens; the rest get weight 0."""
from __future__ import annotations

from bench.api import register_method
from tasks.sft.tasks import Selection

from ._common import RefConfig, global_top, labelled, token_losses, train_reference


class Config(RefConfig):
    keep_ratio: float = 0.6


def token_influence(base, ref, examples, pad_id):
    lb, lr = token_losses(base, examples, pad_id), token_losses(ref, examples, pad_id)
    return [b - r for b, r in zip(lb, lr)]


@register_method("token_cleaning", family="sft.token_selection", config=Config, paper="Pang et al., 2025 (fixed ref)")
def token_cleaning(data, cfg: Config, ctx):
    """Fixed-reference token cleaning."""
    pad = data.tokenizer.pad_token_id
    ref = train_reference(data.base, data.seed_examples, pad, cfg, ctx.rng)
    infl = token_influence(data.base, ref, data.examples, pad)
    return Selection(token_weights=global_top(infl, [labelled(e) for e in data.examples], cfg.keep_ratio))
