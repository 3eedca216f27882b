"""CORES² phase 1, the confidence-regularised sample sieve (Cheng, Zhu, Li, Gong, Sun & Liu, ICLR 2021;
haochenglouis/cores, loss.py + phase1.py), shared by the `cores_sieve` detector and the `cores` learner.

Per example (logits f(x), observed label y, current noisy prior P):
    loss     = CE(f(x), y) - beta(t) * sum_j P_j CE(f(x), j)       (confidence regulariser, weighted by the prior)
    loss_sel = CE(f(x), y) - mean_j CE(f(x), j)                    (the sieve's test statistic)
After the first 30 % of training (epoch 30 of the authors' 100) an example with loss_sel > 0 is sieved out: it gets
weight 0 and the batch loss is averaged over the kept examples. beta(t) follows the authors' schedule in fractions of
training: 0 for 10 %, linear 0 -> 2 over the next 30 %, 2 after. The learning rate is divided by 1 + beta(t). After
each epoch the prior becomes (N P - sieved count per class), renormalised, as in phase1.py. The detector reads the
sieve at 40 % of training (the authors save `loss_div > 0` at epoch 40): score = loss_sel, flag = loss_sel > 0.
Not built: phase 2 (consistency training of the sieved-out examples as unlabeled data, CORES²*).
Adam replaces the authors' SGD (lr 0.1), as for every learner of the family."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from ._common import train
from ._robust import TrainConfig


class CoresConfig(TrainConfig):
    beta_max: float = Field(2.0, ge=0.0, le=20.0, description="final weight of the confidence regulariser")
    warmup_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="share of training with beta = 0")
    ramp_end_fraction: float = Field(0.4, gt=0.0, le=1.0, description="beta reaches beta_max here")
    sieve_start_fraction: float = Field(0.3, ge=0.0, le=1.0, description="sieving starts after this share")


def beta_at(epoch: int, epochs: int, cfg: CoresConfig) -> float:
    t = epoch / max(epochs, 1)
    return float(np.interp(t, [0.0, cfg.warmup_fraction, cfg.ramp_end_fraction, 1.0], [0.0, 0.0, cfg.beta_max,
                                                                                             cfg.beta_max]))


def cores_terms(logits: torch.Tensor, y: torch.Tensor, prior: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                                       torch.Tensor]:
    """(per-example CE, prior-weighted CE over all classes, loss_sel)."""
    ce = F.cross_entropy(logits, y, reduction="none")
    all_ce = -torch.log(torch.softmax(logits, dim=1) + 1e-8)
    return ce, (prior[None, :] * all_ce).sum(1), ce - all_ce.mean(1)


def run_cores(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, epochs: int, cfg: CoresConfig,
              record_epoch: int | None = None, stop_after: int | None = None) -> tuple[torch.nn.Module, np.ndarray]:
    """Train with the CORES loss on an `epochs`-long schedule (stopping after `stop_after` epochs when given); returns
    the model and loss_sel of every example recorded during epoch `record_epoch` (training forward passes, as the
    authors record it)."""
    n = len(y)
    prior0 = np.bincount(y, minlength=n_classes) / n
    state = {"prior": torch.as_tensor(prior0, dtype=torch.float32), "sieved": np.zeros(n_classes)}
    sel = np.zeros(n)
    sieve_from = int(cfg.sieve_start_fraction * epochs)

    def loss(logits, target, idx, ep):
        ce, reg, loss_sel = cores_terms(logits, target, state["prior"])
        b = beta_at(ep, epochs, cfg)
        per = ce - b * reg
        if ep == record_epoch:
            sel[idx.numpy()] = loss_sel.detach().numpy()
        if ep < sieve_from:
            return per.mean()
        keep = (loss_sel <= 0).float().detach()
        np.add.at(state["sieved"], target[keep == 0].numpy(), 1.0)
        return (keep * per).sum() / keep.sum() if keep.sum() > 0 else per.mean() * 1e-8

    def on_epoch(model, ep):
        cur = np.maximum(prior0 * n - state["sieved"], 0.0)
        state["prior"] = torch.as_tensor(cur / max(cur.sum(), 1e-12), dtype=torch.float32)
        state["sieved"] = np.zeros(n_classes)

    model = train(X, y, n_classes, seed, loss, stop_after or epochs, cfg.lr, cfg.batch_size, cfg.hidden, on_epoch=on_epoch,
                  lr_at=lambda ep: cfg.lr / (1.0 + beta_at(ep, epochs, cfg)))
    return model, sel
