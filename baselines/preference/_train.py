"""The shared pair trainer of the preference methods: batches of pairs, policy + frozen reference log-probs, a loss
per pair (preference loss, or SFT on the chosen response for routed pairs), optional ordering (curriculum)."""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch

from bench.config import StrictConfig
from bench.lm import collate, encode_sft, sequence_logprob
from bench.lm import preference_losses as L
from bench.lm.loop import LoopConfig, optimize


class PairTrainConfig(StrictConfig):
    steps: int = 60
    batch_size: int = 16
    lr: float = 5e-4
    beta: float = 0.1


def _batch(tok, pairs, which: str):
    ex = [encode_sft(tok, p.prompt, getattr(p, which), max_length=48) for p in pairs]
    return collate(ex, tok.pad_token_id), torch.tensor([sum(l != -100 for l in e["labels"]) for e in ex],
                                                         dtype=torch.float32)


def train_pairs(data, cfg: PairTrainConfig, rng: np.random.Generator,
                loss_fn: Callable[..., torch.Tensor], order: np.ndarray | None = None,
                sft_mask: np.ndarray | None = None, needs_ref: bool = True, log=None):
    """loss_fn(pi_w, pi_l, ref_w, ref_l, len_w, len_l) -> per-pair loss. `order`: pair visiting order (default:
    shuffled each epoch). `sft_mask[i]`: pair i gets the SFT loss on its chosen response instead (routing)."""
    torch.set_num_threads(2)
    policy, tok, pairs = data.policy, data.tokenizer, data.pairs
    ref = copy.deepcopy(policy).eval() if needs_ref else None
    n = len(pairs)
    seq = []
    while len(seq) < cfg.steps * cfg.batch_size:
        seq.extend(order.tolist() if order is not None else rng.permutation(n).tolist())

    def loss_step(step: int):
        idx = seq[step * cfg.batch_size:(step + 1) * cfg.batch_size]
        bp = [pairs[i] for i in idx]
        bw, len_w = _batch(tok, bp, "chosen")
        bl, len_l = _batch(tok, bp, "rejected")
        pi_w, pi_l = sequence_logprob(policy, bw), sequence_logprob(policy, bl)
        if ref is not None:
            with torch.no_grad():
                ref_w, ref_l = sequence_logprob(ref, bw), sequence_logprob(ref, bl)
        else:
            ref_w = ref_l = torch.zeros_like(pi_w)
        per = loss_fn(pi_w, pi_l, ref_w, ref_l, len_w, len_l)
        if sft_mask is not None:
            route = torch.as_tensor(sft_mask[idx])
            per = torch.where(route, L.sft_loss(pi_w, len_w), per)
        return per.mean()

    optimize(policy, loss_step, LoopConfig(steps=cfg.steps, lr=cfg.lr, max_grad_norm=1.0), log=log)
    return policy
