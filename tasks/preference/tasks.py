"""Preference alignment on the sorting world (tasks/common/sorting.py): a hidden true reward, pairs labelled by a
noisy annotator (the pair's visible margin is the annotator's score difference), a length-biased judge built on the
hidden reward (tasks/preference/judge.py).

`pref-sort` (embedded default, suites smoke + full): a tiny Llama SFT'd on noisy demonstrations is the policy.
The pretrained tier (`pref-sort-smollm2`, suite paper) is in paper.py.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, register_task
from bench.config import StrictConfig
from bench.lm import sequence_limit

from tasks.common import sorting as toy

from .base import PreferenceTask, PrefData, TuneFields, cached_generate
from .contract import PairBudget, VisiblePair
from .judge import RewardJudge


def split_lists(rng: np.random.Generator, n_pairs: int, n_val: int, n_eval: int, min_len: int = 3,
                max_len: int = 6) -> tuple[list, list, list]:
    """Training, validation and evaluation lists with no list in two of them (prompts never leak across splits)."""
    seen: set[tuple] = set()
    out: list[list] = [[], [], []]
    for k, n in enumerate((n_pairs, n_val, n_eval)):
        tries = 0
        while len(out[k]) < n:
            xs = [int(v) for v in rng.integers(0, 10, size=int(rng.integers(min_len, max_len + 1)))]
            tries += 1
            if tuple(xs) in seen and tries < 100 * (n + 1):
                continue
            seen.add(tuple(xs))
            out[k].append(xs)
    return out[0], out[1], out[2]


class SortJudgeFields(StrictConfig):
    annotator_noise: float = Field(0.15, ge=0.0, description="sd of the annotator's noise on each response's reward")
    judge_temperature: float = Field(0.1, gt=0.0, description="reward difference that moves the judge's odds by e")
    judge_length_bias: float = Field(1.0, ge=0.0, description="kappa: the judge's pull towards the longer answer")
    judge_length_scale: float = Field(10.0, gt=0.0, description="length difference (characters) of that pull")


class SortingTaskMixin:
    """Judging and metrics shared by the sorting tasks."""

    metrics = (Metric("lc_win_rate", "max", "length-controlled win rate vs the SFT policy (alpaca_eval GLM)",
                      range=(0.0, 100.0)),
               Metric("win_rate", "max", "win rate vs the SFT policy under the length-biased judge", range=(0.0, 100.0)),
               Metric("unbiased_win_rate", "max", "win rate under the same judge without its length bias",
                      range=(0.0, 100.0)),
               Metric("mean_true_reward", "max", "hidden reward of the policy's answers", range=PROPORTION),
               Metric("mean_length", "min", "answer length in characters", range=NONNEGATIVE))

    @staticmethod
    def make_judge(cfg) -> RewardJudge:
        return RewardJudge(cfg.judge_temperature, cfg.judge_length_bias, cfg.judge_length_scale)

    def judge(self, data: PrefData, split: dict, outputs: list[str]) -> dict:
        j: RewardJudge = data.extra["judge"]
        r_m = np.array([toy.true_reward(xs, o) for xs, o in zip(split["meta"], outputs)])
        r_b = np.array([toy.true_reward(xs, o) for xs, o in zip(split["meta"], split["baseline"])])
        lm = [len(o) for o in outputs]
        lb = [len(o) for o in split["baseline"]]
        return {"pref": j.preference(r_m, r_b, lm, lb), "pref_unbiased": j.preference(r_m, r_b, lm, lb, 0.0),
                "reward": r_m}

    def metrics_from(self, r: dict, data: PrefData) -> dict[str, float]:
        return {"lc_win_rate": r["lc_win_rate"], "win_rate": r["win_rate"],
                "unbiased_win_rate": float(100 * np.mean(r["judge"]["pref_unbiased"])),
                "mean_true_reward": float(np.mean(r["judge"]["reward"])), "mean_length": float(r["len_m"].mean())}


def sorting_pairs(rng: np.random.Generator, lists: list[list[int]], noise: float, prompt_fn=toy.make_prompt,
                  response_fn=lambda r: r) -> tuple[list[VisiblePair], np.ndarray]:
    raw = toy.make_pairs(rng, lists, noise)
    pairs = [VisiblePair(prompt_fn(xs), response_fn(p.chosen), response_fn(p.rejected), float(p.margin))
             for xs, p in zip(lists, raw)]
    return pairs, np.array([p.true_margin for p in raw], dtype=float)


class PrefSortConfig(TuneFields, SortJudgeFields):
    n_pairs: int = Field(200, ge=2)
    n_val: int = Field(64, ge=2, description="validation prompts (tuning only)")
    n_eval: int = Field(200, ge=2, description="evaluation prompts")
    n_demos: int = Field(600, ge=1, description="noisy demonstrations of the SFT policy")
    demo_error: float = Field(0.5, ge=0.0, le=1.0)
    sft_steps: int = Field(200, ge=1)
    steps: int = Field(24, ge=1, description="optimiser steps of every method (the same budget for all)")
    batch_size: int = Field(8, ge=1, description="pairs per optimiser step")
    tune_lr: list[float] = Field([1e-4, 3e-4], min_length=1, strict=False,
                                 description="learning rates tried for every method")
    tune_beta_scale: list[float] = Field([1.0, 4.0], min_length=1, strict=False,
                                         description="multipliers of each method's own beta")


class SortingPreference(SortingTaskMixin, PreferenceTask):
    version = "2"
    description = ("Sorting world with a hidden true reward; pairs labelled by a noisy annotator (visible margin = its "
                   "score difference); a tiny Llama SFT'd on noisy demonstrations is the policy; judged against the SFT "
                   "policy by a length-biased judge on the hidden reward; lr x beta tuned per method on validation "
                   "prompts.")
    dataset = DatasetRef("generated: tasks/common/sorting.py", offline_default="generated sorting preference pairs; "
                         "real runs: pref-ultrafeedback (UltraFeedback-binarized + AlpacaEval prompts + LLM judge)")
    config_cls = PrefSortConfig
    default_seeds = 5
    full_suite_seeds = 2
    suites = ("smoke", "full")

    def load(self, cfg: PrefSortConfig, ctx: Context) -> PrefData:
        import torch

        torch.set_num_threads(1)
        rng = ctx.data_rng
        tok = toy.corpus_tokenizer()
        base = toy.sft_base(tok, rng, cfg.n_demos, cfg.demo_error, ctx.cache_dir, ctx.data_seed % (2**31),
                            steps=cfg.sft_steps)
        train, val, ev = split_lists(rng, cfg.n_pairs, cfg.n_val, cfg.n_eval)
        pairs, true_m = sorting_pairs(rng, train, cfg.annotator_noise)
        ctx.add_artifact("flipped_pair_fraction", float(np.mean(true_m < 0)))
        splits = {}
        for name, lists in (("val", val), ("eval", ev)):
            prompts = [toy.make_prompt(xs) for xs in lists]
            base_out = (cached_generate(base, tok, prompts, cfg.max_new_tokens, None)
                        if name == "eval" or cfg.tuning else None)  # validation answers only for tuning
            splits[name] = {"prompts": prompts, "meta": lists, "baseline": base_out}
        return PrefData(base, tok, pairs, true_m, splits["val"], splits["eval"],
                        PairBudget(cfg.steps, cfg.batch_size), max_length=sequence_limit(tok, base),
                        extra={"judge": self.make_judge(cfg)})

    def smoke_params(self):
        return {"n_pairs": 16, "n_val": 4, "n_eval": 8, "n_demos": 48, "sft_steps": 8, "steps": 2,
                "batch_size": 4, "max_new_tokens": 8, "tuning": False}


register_task(SortingPreference("pref-sort"))
