"""The pair trainer of the preference methods, on the one LM loop (`bench.lm.loop.optimize`).

A step takes `budget.batch_size` pairs (shuffled each pass, or in a given order: curricula) and scores chosen and
rejected responses in one forward pass of the policy (TRL's concatenated forward): per sequence, the summed
log-prob of its response tokens (EOS included) and their count. Logits are computed only at labelled positions and,
when only the top layers train (`spec.train_layers`), only those layers run, on the frozen trunk's cached states
(`bench.lm.trunk`). The reference model is the policy as handed over; its log-probs of every pair are computed once
before training (TRL's `precompute_ref_log_probs`) and cached by content.

Sequence limits come from the view (`max_length`: the tokenizer / model limit); a pair that does not fit is an error
naming it (`bench.lm.SequenceTooLong`), never a silent cut -- so no pair trains with an empty response.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from pydantic import Field

from bench.config import StrictConfig
from bench.lm import collate, encode_sft, merged, prepare_for_finetuning, token_nll_fast
from bench.lm.loop import LoopConfig, optimize

REF_BATCH = 16  # pairs per reference forward (fixed: the cached values do not depend on the training order)


class PairTrainConfig(StrictConfig):
    lr: float = Field(1e-3, gt=0.0, description="AdamW learning rate (the task's tuning grid replaces it)")
    beta: float = Field(0.1, gt=0.0, description="inverse temperature of the preference loss (tuned as a scale)")


class LrConfig(StrictConfig):
    lr: float = Field(1e-3, gt=0.0, description="AdamW learning rate (the task's tuning grid replaces it)")


@dataclass
class PairBatch:
    """What a loss sees for one step: pair indices, policy / reference summed log-probs of chosen (w) and rejected
    (l) responses, response token counts, and (when asked for) the chosen sequences' token-mean NLL over prompt and
    response (ORPO). `route`: the pairs a routing rule sends to SFT (MixDPO), else None."""

    idx: np.ndarray
    pi_w: torch.Tensor
    pi_l: torch.Tensor | None
    ref_w: torch.Tensor
    ref_l: torch.Tensor
    len_w: torch.Tensor
    len_l: torch.Tensor | None
    nll_full_w: torch.Tensor | None = None
    route: torch.Tensor | None = None


def encode_pairs(view, full_chosen: bool = False) -> tuple[list[dict], list[dict]]:
    """(chosen, rejected) encodings; labels on response tokens (+ EOS), or on every token of the chosen sequence
    when `full_chosen` (ORPO's NLL; the response part is recovered from `n_prompt`)."""
    tok = view.tokenizer
    w, l = [], []
    for i, p in enumerate(view.pairs):
        ew = encode_sft(tok, p.prompt, p.chosen, max_length=view.max_length, name=f"pair {i} (chosen)")
        el = encode_sft(tok, p.prompt, p.rejected, max_length=view.max_length, name=f"pair {i} (rejected)")
        if full_chosen:
            ew = {**ew, "labels": list(ew["input_ids"])}
        w.append(ew)
        l.append(el)
    return w, l


def _response_labels(ex: dict) -> dict:
    labels = [(-100 if t < ex["n_prompt"] else v) for t, v in enumerate(ex["labels"])]
    return {**ex, "labels": labels}


def sequence_scores(model, examples: Sequence[dict], pad_id: int, trunk=None, device: str = "cpu",
                    full_prompt: Sequence[bool] | None = None):
    """Per sequence: (summed log-prob of response tokens, response token count[, token NLL sum and count over all
    labelled tokens]) in one forward pass. Sequences flagged in `full_prompt` carry labels on the prompt too; their
    response part is the tokens at positions >= n_prompt."""
    batch = {k: v.to(device) for k, v in collate(list(examples), pad_id).items()}
    nll, mask = token_nll_fast(model, batch, trunk)
    resp = mask.clone()
    if full_prompt is not None:
        for i, (ex, f) in enumerate(zip(examples, full_prompt)):
            if f:
                resp[i, : ex["n_prompt"]] = False
    logp = -(nll * resp).sum(1)
    n = resp.sum(1).to(logp.dtype)
    if (n == 0).any():
        bad = int(torch.nonzero(n == 0)[0])
        raise ValueError(f"sequence {bad} of the batch has no response token to score")
    return logp, n, (nll * mask).sum(1), mask.sum(1).to(logp.dtype)


def reference_logps(view, enc_w: list[dict], enc_l: list[dict], full_chosen: bool = False) -> tuple[np.ndarray, ...]:
    """The reference (= the policy as handed over) log-probs of every chosen / rejected response, computed once in
    fixed chunks and cached by content (model fingerprint, token ids)."""
    from bench.lm import model_fingerprint
    from bench.lm.cache import cached_arrays, content_key

    model = view.policy
    pad = view.tokenizer.pad_token_id
    split = getattr(view.trunk, "split", None)
    key = content_key("pref-ref-v1", model_fingerprint(model), split,
                      [e["input_ids"] for e in enc_w], [e["input_ids"] for e in enc_l],
                      [e["n_prompt"] for e in enc_w])

    def compute():
        lw, ll = [], []
        was = model.training
        model.eval()
        with torch.no_grad():
            for s in range(0, len(enc_w), REF_BATCH):
                ex = [_response_labels(e) for e in enc_w[s: s + REF_BATCH]] + enc_l[s: s + REF_BATCH]
                logp, _, _, _ = sequence_scores(model, ex, pad, view.trunk, view.device)
                k = len(ex) // 2
                lw.append(logp[:k].cpu().numpy())
                ll.append(logp[k:].cpu().numpy())
        model.train(was)
        return [np.concatenate(lw), np.concatenate(ll)]

    cache = getattr(view, "cache_dir", None)
    return tuple(cached_arrays("pref-ref", key, compute, cache))


def batch_order(n: int, steps: int, batch_size: int, rng: np.random.Generator,
                order: np.ndarray | None = None) -> list[np.ndarray]:
    """Index batches for `steps` steps: consecutive batches of `order` (cycled), or reshuffled passes."""
    seq: list[int] = []
    while len(seq) < steps * batch_size:
        seq.extend((order if order is not None else rng.permutation(n)).tolist())
    return [np.asarray(seq[s * batch_size:(s + 1) * batch_size]) for s in range(steps)]


def train_pairs(view, cfg, rng: np.random.Generator, loss_fn: Callable[[PairBatch], torch.Tensor],
                order: np.ndarray | None = None, route: np.ndarray | None = None, needs_ref: bool = True,
                full_chosen: bool = False, keep: np.ndarray | None = None, chosen_only: bool = False, log=None):
    """Train `view.policy` (LoRA-wrapped per `view.spec`) with `loss_fn(PairBatch) -> scalar` for the view's budget;
    return the trained policy (adapters merged). `keep`: train on these pair indices only (filters); `order`: visit
    pairs in this order (indices into the kept pairs); `route[i]`: pair i is routed (passed to the loss);
    `chosen_only`: score only the chosen responses (SFT; the rejected fields of the batch are None)."""
    torch.manual_seed(int(rng.integers(2**31)))
    enc_w, enc_l = encode_pairs(view, full_chosen)
    ref_w = ref_l = None
    if needs_ref:
        ref_w, ref_l = reference_logps(view, enc_w, enc_l, full_chosen)
    idx_all = np.arange(len(enc_w)) if keep is None else np.asarray(keep, dtype=np.int64)
    if len(idx_all) == 0:
        raise ValueError("no preference pairs to train on")
    model = prepare_for_finetuning(view.policy, view.spec) if view.spec is not None else view.policy
    model.to(view.device)
    pad = view.tokenizer.pad_token_id
    batches = batch_order(len(idx_all), view.budget.steps, view.budget.batch_size, rng, order)

    def loss_step(step: int):
        idx = idx_all[batches[step]]
        ex = [enc_w[i] for i in idx] + ([] if chosen_only else [enc_l[i] for i in idx])
        flags = [full_chosen] * len(idx) + [False] * (len(ex) - len(idx))
        logp, n, nll_sum, n_all = sequence_scores(model, ex, pad, view.trunk, view.device,
                                                  flags if full_chosen else None)
        B = len(idx)
        if needs_ref:
            r_w = torch.as_tensor(ref_w[idx], dtype=logp.dtype, device=logp.device)
            r_l = torch.as_tensor(ref_l[idx], dtype=logp.dtype, device=logp.device)
        else:
            r_w = r_l = torch.zeros(B, dtype=logp.dtype, device=logp.device)
        b = PairBatch(idx, logp[:B], None if chosen_only else logp[B:], r_w, r_l, n[:B],
                      None if chosen_only else n[B:])
        if full_chosen:
            b.nll_full_w = nll_sum[:B].sum() / n_all[:B].sum().clamp(min=1.0)
        if route is not None:
            b.route = torch.as_tensor(np.asarray(route)[idx], device=logp.device)
        return loss_fn(b)

    optimize(model, loss_step, LoopConfig(steps=view.budget.steps, lr=cfg.lr, max_grad_norm=1.0), device=view.device,
             log=log)
    return merged(model).eval()


def mean_loss(per_pair: Callable[[PairBatch], torch.Tensor]) -> Callable[[PairBatch], torch.Tensor]:
    return lambda b: per_pair(b).mean()


# -- KTO: unpaired examples with a KL estimate from mismatched completions ----------------------------------------
def train_kto(view, cfg, rng: np.random.Generator, desirable_weight: float = 1.0, undesirable_weight: float = 1.0,
              log=None):
    """TRL's KTO on the view's pairs: each pair gives a desirable (chosen) and an undesirable (rejected) example,
    ordered as TRL's `unpair_preference_dataset` (all chosen, then all rejected); steps draw 2 x batch_size shuffled
    examples (the sequences a paired step sees); each example's KL completion is another example's completion,
    rotated by one within consecutive chunks of that size (TRL builds these once, before shuffling)."""
    from bench.lm import preference_losses as L

    torch.manual_seed(int(rng.integers(2**31)))
    enc_w, enc_l = encode_pairs(view)
    n = len(enc_w)
    ex = enc_w + enc_l  # unpaired order: chosen..., rejected...
    label = np.array([True] * n + [False] * n)
    per = 2 * view.budget.batch_size
    tok = view.tokenizer
    prompts = [p.prompt for p in view.pairs] * 2
    responses = [p.chosen for p in view.pairs] + [p.rejected for p in view.pairs]
    kl_ex = []
    for s in range(0, 2 * n, per):
        chunk = list(range(s, min(s + per, 2 * n)))
        rot = [chunk[-1]] + chunk[:-1]
        for j, k in zip(chunk, rot):
            kl_ex.append(encode_sft(tok, prompts[j], responses[k], max_length=view.max_length,
                                    name=f"KTO KL example {j}"))
    ref_ex, ref_kl = reference_logps(view, ex, kl_ex)  # reference log-probs of examples and KL completions
    model = prepare_for_finetuning(view.policy, view.spec) if view.spec is not None else view.policy
    model.to(view.device)
    pad = tok.pad_token_id
    batches = batch_order(2 * n, view.budget.steps, per, rng)

    def loss_step(step: int):
        idx = batches[step]
        logp, _, _, _ = sequence_scores(model, [ex[i] for i in idx], pad, view.trunk, view.device)
        with torch.no_grad():
            kl_logp, _, _, _ = sequence_scores(model, [kl_ex[i] for i in idx], pad, view.trunk, view.device)
        kl = L.kto_kl_estimate(kl_logp, torch.as_tensor(ref_kl[idx], dtype=kl_logp.dtype, device=kl_logp.device))
        r = logp - torch.as_tensor(ref_ex[idx], dtype=logp.dtype, device=logp.device)
        lab = torch.as_tensor(label[idx], device=logp.device)
        losses = L.kto_losses(r[lab], r[~lab], kl, cfg.beta, desirable_weight, undesirable_weight)
        return losses.mean()

    optimize(model, loss_step, LoopConfig(steps=view.budget.steps, lr=cfg.lr, max_grad_norm=1.0), device=view.device,
             log=log)
    return merged(model).eval()


__all__ = ["PairTrainConfig", "LrConfig", "PairBatch", "train_pairs", "train_kto", "mean_loss", "encode_pairs",
           "reference_logps", "sequence_scores", "batch_order", "Any"]
