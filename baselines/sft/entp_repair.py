"""ENTP-style low-quality data repair (neural-symbolic purge + mix): instead of only discarding bad SFT samples,
purge them with symbolic statistical priors and rebuild them with a generator model.

1. Symbolic purge. A sample is purged when any enabled prior flags it (default: length, repetition, perplexity --
   statistics of the pool that need no knowledge of how it was corrupted):
   - `length`: robust z-score (median/MAD) of log(response words / instruction words) above `z_threshold`;
   - `repetition`: the fraction of repeated word bigrams in the response above `max_repetition`;
   - `perplexity`: robust z-score of the response's mean token NLL under the reference model (trained on the clean
     seed data) above `z_threshold`;
   - `grounding` (NOT default; a declared ablation): the share of response words that are not in the instruction
     (as a multiset) above `max_ungrounded`. On the embedded sorting task this is an oracle for its filler noise (a
     correct answer consists of the instruction's numbers), so it is off unless asked for
     (`--set entp_repair.priors='["length","repetition","perplexity","grounding"]'`).
2. Neural mix (`rewrite=True`). Each purged sample gets the generator's greedy response to its instruction (the
   generator is the seed-trained reference model); with the grounding ablation also the symbolically cleaned
   response (ungrounded words removed). The candidate with the lowest reference NLL is kept if it passes every
   enabled prior; otherwise the sample stays purged (weight 0). `rewrite=False` is the purge-only ablation.
"""
from __future__ import annotations

from collections import Counter
from typing import Literal

import numpy as np

from bench.api import register_method
from bench.lm import encode_sft
from tasks.sft.contract import Selection

from ._common import RefConfig, labelled, reference_losses, reference_model, sample_mean, token_losses

PRIORS = ("length", "repetition", "perplexity")  # the default; "grounding" is an opt-in ablation


class Config(RefConfig):
    priors: list[Literal["length", "repetition", "grounding", "perplexity"]] = list(PRIORS)
    z_threshold: float = 3.0
    max_repetition: float = 0.5
    max_ungrounded: float = 0.0
    rewrite: bool = True
    max_new_tokens: int | None = None  # default: the pool's typical response length (`data.response_tokens`)


def _stats(x: np.ndarray) -> tuple[float, float]:
    """Median and a robust scale: 1.4826 * MAD, or 1.2533 * mean absolute deviation when the MAD is 0 (more than
    half the values equal), the usual fallback for the modified z-score."""
    med = float(np.median(x))
    dev = np.abs(x - med)
    scale = 1.4826 * float(np.median(dev))
    return med, scale if scale > 0 else 1.2533 * float(np.mean(dev))


def robust_z(x: np.ndarray, stats: tuple[float, float] | None = None) -> np.ndarray:
    med, scale = stats or _stats(x)
    return (x - med) / scale if scale > 0 else np.zeros_like(x, dtype=float)


def repetition(words: list[str]) -> float:
    bigrams = list(zip(words, words[1:]))
    return 1.0 - len(set(bigrams)) / len(bigrams) if bigrams else 0.0


def ungrounded(instruction: str, response: str) -> float:
    words = response.split()
    if not words:
        return 1.0
    left = Counter(instruction.split())
    bad = 0
    for w in words:
        if left[w] > 0:
            left[w] -= 1
        else:
            bad += 1
    return bad / len(words)


def grounded_part(instruction: str, response: str) -> str:
    left, keep = Counter(instruction.split()), []
    for w in response.split():
        if left[w] > 0:
            left[w] -= 1
            keep.append(w)
    return " " + " ".join(keep) if keep else ""


def length_ratio(texts: list[tuple[str, str]]) -> np.ndarray:
    """log(response words / instruction words) per (instruction, response)."""
    return np.log(np.array([max(1, len(r.split())) / max(1, len(p.split())) for p, r in texts]))


def flags(texts: list[tuple[str, str]], nll: np.ndarray, cfg: Config, ref_stats: dict | None = None) -> np.ndarray:
    """Boolean purge flags per sample under the enabled priors. `ref_stats` (median, MAD scale per prior) lets
    candidates be judged against the statistics of the original pool."""
    ratio = length_ratio(texts)
    stats = ref_stats or {}
    out = np.zeros(len(texts), dtype=bool)

    def z(name, x):
        return robust_z(x, stats.get(name))

    if "length" in cfg.priors:
        out |= np.abs(z("length", ratio)) > cfg.z_threshold
    if "repetition" in cfg.priors:
        out |= np.array([repetition(r.split()) for _, r in texts]) > cfg.max_repetition
    if "grounding" in cfg.priors:
        out |= np.array([ungrounded(p, r) for p, r in texts]) > cfg.max_ungrounded
    if "perplexity" in cfg.priors:
        out |= z("perplexity", nll) > cfg.z_threshold
    return out


@register_method("entp_repair", family="sft.sample_selection", config=Config, kind="method",
                 paper="Yang et al. (ENTP: neural-symbolic text purge-mix)")
def entp_repair(data, cfg: Config, ctx):
    """Purge samples flagged by statistical priors, then rebuild them with the seed-trained generator."""
    from bench.lm import greedy_generate as generate

    tok = data.tokenizer
    ref = reference_model(data, cfg)

    def mean_nll(examples, losses=None):  # mean response-token NLL of each example under the reference model
        losses = losses if losses is not None else token_losses(data, ref, examples)
        return sample_mean(losses, [labelled(e) for e in examples])

    nll = mean_nll(data.examples, reference_losses(data, ref))
    purged = flags(data.texts, nll, cfg)
    pool_stats = {"length": _stats(length_ratio(data.texts)), "perplexity": _stats(nll)}
    weights = (~purged).astype(np.float32)
    responses: dict[int, str] = {}
    idx = np.flatnonzero(purged)
    ctx.add_artifact("purged", int(len(idx)))
    if cfg.rewrite and len(idx):
        prompts = [data.texts[i][0] for i in idx]
        gen = generate(ref, tok, prompts, max_new_tokens=cfg.max_new_tokens or data.response_tokens)
        cands = {"neural": [" " + g.split("\n")[0].strip() if g.strip() else "" for g in gen]}
        if "grounding" in cfg.priors:
            cands["symbolic"] = [grounded_part(p, data.texts[i][1]) for p, i in zip(prompts, idx)]
        best = {}
        for name, rs in cands.items():
            ok_text = np.array([bool(r.strip()) for r in rs])
            pairs = [(p, r if r.strip() else " .") for p, r in zip(prompts, rs)]
            ex = [encode_sft(tok, p, r, max_length=data.max_length, truncation=True, name=f"candidate for {i}")
                  for (p, r), i in zip(pairs, idx)]
            c_nll = mean_nll(ex)
            ok = ~flags(pairs, c_nll, cfg, pool_stats) & ok_text
            best[name] = (np.where(ok, c_nll, np.inf), rs)
        chosen = {name: 0 for name in cands}
        for k, i in enumerate(idx):
            name = min(best, key=lambda n: best[n][0][k])
            if np.isfinite(best[name][0][k]):
                responses[int(i)] = best[name][1][k]
                weights[i] = 1.0
                chosen[name] += 1
        ctx.add_artifact("repaired_by", chosen)
    if not (weights > 0).any():
        weights[:] = 1.0  # every sample purged and none repaired: nothing to select against
        ctx.add_artifact("fallback_full", True)
    return Selection(sample_weights=weights, responses=responses or None)
