"""Balanced softmax (Ren et al., NeurIPS 2020, jiawei-ren/BalancedMetaSoftmax): a *loss-time* correction. Training
uses CE on f(x) + log n_k (the softmax of the long-tailed training distribution), prediction the plain argmax f(x).
This is the logit-adjusted loss of Menon et al. at tau = 1; our `logit_adjustment` row is the other variant of that
paper, the *post-hoc* correction of a plain-CE model with tau tuned on held-out data (see logit_adjustment.py)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from bench.api import register_method

from ._common import predict
from ._imbalance import class_counts
from ._robust import TrainConfig, fit


def balanced_softmax_loss(logits: torch.Tensor, y: torch.Tensor, log_counts: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits + log_counts, y)


@register_method("balanced_softmax", family="label_noise.imbalance", config=TrainConfig, paper="Ren et al., NeurIPS 2020")
def balanced_softmax(data, cfg: TrainConfig, ctx):
    """Balanced softmax: CE on f(x) + log n_k during training, predict argmax f(x)."""
    log_n = torch.log(class_counts(data.y, data.n_classes))
    return predict(fit(data, cfg, ctx, lambda lg, y, i, e: balanced_softmax_loss(lg, y, log_n)), data.X_test)
