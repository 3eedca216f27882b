from __future__ import annotations

from bench.api import register_method

from baselines.common.peer_prediction import ca_scores, fill_missing


@register_method("correlated_agreement", family="crowd.cheating", kind="baseline", paper="Shnayder et al., EC 2016")
def correlated_agreement(data, cfg, ctx):
    """Unconditioned correlated agreement (peer prediction without LLM labels)."""
    s, _ = ca_scores(data.items, data.workers, data.labels, data.n_items, data.n_workers, data.n_classes)
    return fill_missing(s)
