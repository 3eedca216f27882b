"""Preference-alignment tasks on the sorting environment."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.lm import greedy_generate
from bench.config import StrictConfig

from tasks.common import sorting as toy
from .winrate import lc_win_rate


@dataclass
class PrefData:
    """What a method gets: the SFT policy (train a copy), its tokenizer and the preference pairs."""

    policy: Any
    tokenizer: Any
    pairs: list[toy.Pair]
    eval_prompts: list[list[int]] = field(repr=False, default_factory=list)

    def fingerprint(self) -> dict:
        return {"pairs": [(p.prompt, p.chosen, p.rejected, round(p.margin, 12)) for p in self.pairs],
                "eval": self.eval_prompts}


class PrefConfig(StrictConfig):
    n_pairs: int = 400
    n_eval: int = 100
    n_demos: int = 600
    demo_error: float = 0.5
    annotator_noise: float = 0.15
    sft_steps: int = 200


class SortingPreference(Task):
    family = "preference"
    version = "1"
    description = ("Sorting environment with a hidden true reward; pairs labelled by a noisy annotator; judge = true "
                   "reward of the policy's greedy output vs the SFT model's output on held-out prompts.")
    dataset = DatasetRef("generated: tasks/common/sorting.py", offline_default="generated sorting preference pairs; "
                         "real runs: UltraFeedback-binarized by hub id with score margins")
    metrics = (Metric("lc_win_rate", "max", range=(0.0, 100.0)), Metric("win_rate", "max", range=(0.0, 100.0)), Metric("mean_true_reward", "max", range=PROPORTION),
               Metric("mean_length", "min", range=NONNEGATIVE))
    primary_metric = "lc_win_rate"
    config_cls = PrefConfig
    default_seeds = 3

    def load(self, cfg: PrefConfig, ctx: Context) -> PrefData:
        import torch

        torch.set_num_threads(2)
        rng = ctx.data_rng
        tok = toy.corpus_tokenizer()
        base = toy.sft_base(tok, rng, cfg.n_demos, cfg.demo_error, ctx.cache_dir, ctx.data_seed % (2**31),
                            steps=cfg.sft_steps)
        pairs = toy.make_pairs(rng, toy.sample_lists(rng, cfg.n_pairs), cfg.annotator_noise)
        evals = toy.sample_lists(rng, cfg.n_eval)
        ctx.add_artifact("flipped_pair_fraction", float(np.mean([p.true_margin < 0 for p in pairs])))
        return PrefData(base, tok, pairs, evals)

    def execute(self, method, data: PrefData, method_cfg, cfg, ctx):
        view = PrefData(copy.deepcopy(data.policy), data.tokenizer, data.pairs)
        return method.fn(view, method_cfg, ctx)

    def evaluate(self, data: PrefData, policy, cfg, ctx):
        prompts = [toy.make_prompt(xs) for xs in data.eval_prompts]
        ours = greedy_generate(policy, data.tokenizer, prompts)
        base = greedy_generate(data.policy, data.tokenizer, prompts)
        r_o = np.array([toy.true_reward(xs, o) for xs, o in zip(data.eval_prompts, ours)])
        r_b = np.array([toy.true_reward(xs, o) for xs, o in zip(data.eval_prompts, base)])
        pref = np.where(r_o > r_b, 1.0, np.where(r_o < r_b, 0.0, 0.5))
        lo = np.array([len(o) for o in ours])
        lb = np.array([len(o) for o in base])
        lc = lc_win_rate(pref, lo, lb)
        ctx.add_artifact("samples", [{"prompt": p, "output": o, "baseline": b} for p, o, b in
                                     list(zip(prompts, ours, base))[:5]])
        ctx.add_artifact("lc_glm", {"theta": lc["theta"], "phi": lc["phi"]})
        return {"lc_win_rate": lc["lc_win_rate"], "win_rate": lc["win_rate"], "mean_true_reward": float(r_o.mean()),
                "mean_length": float(lo.mean())}

    def smoke_params(self):
        return {"n_pairs": 40, "n_eval": 20, "n_demos": 100, "sft_steps": 20}


register_task(SortingPreference("pref-sort"))
