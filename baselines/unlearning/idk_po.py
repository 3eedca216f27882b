"""IdkPO (TOFU's preference baseline; open-unlearning's DPO trainer on TOFU_QA_forget_idk): DPO with the "I don't
know" template as the chosen and the forget answer as the rejected response, plus the retain NLL:
  L = -(2 / beta) * mean log sigmoid(beta * ((log pi(y_idk) - log pi_ref(y_idk)) - (log pi(y_f) - log pi_ref(y_f))))
      + alpha * NLL(retain),
sequence log-probs summed over answer tokens, beta = 0.1, alpha = 1 (open-unlearning's defaults; the 2 / beta factor
is theirs and NPO's: without it the loss is 20x weaker at beta = 0.1)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from bench.api import register_method
from tasks.unlearning import lm

from ._loop import Reference, UnlearnConfig, forget_and_template, retain_batch, run


class Config(UnlearnConfig):
    beta: float = Field(0.1, gt=0)
    alpha: float = Field(1.0, ge=0)


def idk_po_loss(pi_w, pi_l, ref_w, ref_l, beta: float) -> torch.Tensor:
    """Per-pair loss (the caller averages)."""
    return -(2.0 / beta) * F.logsigmoid(beta * ((pi_w - ref_w) - (pi_l - ref_l)))


@register_method("idk_po", family="unlearning", config=Config, paper="Maini et al., 2024 (TOFU IdkPO)",
                 privileges={"retain_data"})
def idk_po(view, cfg: Config, ctx):
    """DPO towards "I don't know" away from the forget answer, plus the retain NLL."""
    ref = Reference(view.model)

    def loss(m, rng):
        bad, good = forget_and_template(view, rng, cfg.batch_size)
        rw, rl = ref(lambda r: (lm.sequence_logprob(r, good), lm.sequence_logprob(r, bad)))
        pref = idk_po_loss(lm.sequence_logprob(m, good), lm.sequence_logprob(m, bad), rw, rl, cfg.beta).mean()
        return pref + cfg.alpha * lm.mean_nll(m, retain_batch(view, rng, cfg.batch_size))

    return run(view, cfg, ctx.rng, loss, ctx)
