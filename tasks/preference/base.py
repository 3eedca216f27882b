"""What every preference task shares: the method's view, output checking, the tuning protocol and the judged
evaluation.

Protocol of a cell (`PreferenceTask.execute`):
1. Tuning. Every method gets the same declared grid, `tune_lr` x `tune_beta_scale` (the learning rate replaces the
   method's `lr`; the scale multiplies the method's own `beta`, so each loss is tuned around its recommended value;
   an axis a method has no field for is dropped, e.g. SFT on chosen has no beta). For each grid point the method
   trains a fresh copy of the SFT policy on the task's pairs; the judge scores the result on the *validation*
   prompts (disjoint from the evaluation prompts and from the training prompts); the point with the best
   validation LC win rate is kept (ties: the first in grid order). `tuning=false` runs the method config as given.
   The selected values are the artifact `selected` (shown in the leaderboard table), every point's validation score
   the artifact `tuning`.
2. Evaluation. The kept policy answers the evaluation prompts greedily; the judge compares each answer with the SFT
   policy's answer to the same prompt; metrics: LC win rate (primary; alpaca_eval's GLM, `winrate.py`), win rate,
   mean answer length in characters, and what the task can add (the hidden reward on the sorting tasks).
"""
from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from bench.api import Context, Task
from bench.config import StrictConfig
from bench.contract import ContractError
from bench.records import atomic_write_text

from .contract import CONTRACT, PairBudget, PreferenceView, TrainedPolicy, VisiblePair, check_pairs
from .winrate import lc_win_rate


class TuneFields(StrictConfig):
    """Fields of the tuning protocol and the shared training budget (mixed into each task config)."""

    steps: int = Field(60, ge=1, description="optimiser steps of every method (the same budget for all)")
    batch_size: int = Field(16, ge=1, description="pairs per optimiser step")
    tuning: bool = Field(True, description="select lr / beta on the validation prompts (false: method config as given)")
    tune_lr: list[float] = Field([5e-4, 2e-3], min_length=1, strict=False,
                                 description="learning rates tried for every method")
    tune_beta_scale: list[float] = Field([0.5, 2.0], min_length=1, strict=False,
                                         description="multipliers of each method's own beta")
    max_new_tokens: int = Field(16, ge=1, description="greedy decoding budget of the judged answers")


@dataclass
class PrefData:
    """A loaded preference task instance (what the task holds; methods get a `PreferenceView` of it)."""

    policy: Any  # the SFT policy: start point, reference model and the judged baseline
    tokenizer: Any
    pairs: list[VisiblePair]
    true_margins: np.ndarray | None  # hidden (NaN on real data)
    val: dict  # {"prompts": [...], "meta": [...], "baseline": [...]}: the tuning split
    eval: dict  # the evaluation split, same keys
    budget: PairBudget
    spec: Any = None
    trunk: Any = field(default=None, repr=False)
    max_length: int | None = None
    extra: dict = field(default_factory=dict)

    def fingerprint(self) -> dict:
        return {"pairs": [(p.prompt, p.chosen, p.rejected, round(p.margin, 12)) for p in self.pairs],
                "val": self.val["prompts"], "eval": self.eval["prompts"],
                "baseline": [self.val["baseline"], self.eval["baseline"]]}


def generate(model, tok, prompts: list[str], max_new_tokens: int, batch_size: int = 64) -> list[str]:
    """Greedy answers, in batches (left padding), special tokens dropped."""
    from bench.lm import greedy_generate

    model.eval()
    out: list[str] = []
    for s in range(0, len(prompts), batch_size):
        out += greedy_generate(model, tok, prompts[s: s + batch_size], max_new_tokens=max_new_tokens)
    return out


def cached_generate(model, tok, prompts: list[str], max_new_tokens: int, cache_dir: Path | None,
                    model_key: str | None = None) -> list[str]:
    """`generate`, cached on disk by (model fingerprint, prompts, budget): the SFT policy's answers are the same for
    every method of a seed, so one cell computes them and the others read them."""
    from bench.lm import model_fingerprint
    from bench.lm.cache import content_key

    key = content_key("pref-gen-v1", model_key or model_fingerprint(model), prompts, max_new_tokens)
    path = Path(cache_dir) / "preference" / "generations" / f"{key}.json" if cache_dir else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    out = generate(model, tok, prompts, max_new_tokens)
    if path is not None:
        atomic_write_text(path, json.dumps(out))  # parallel cells (pytest-xdist, Ray) may write it at once
    return out


class PreferenceTask(Task):
    """Base of the preference tasks (not registered). Subclasses implement `load` and `judge`."""

    family = "preference"
    primary_metric = "lc_win_rate"
    table_artifacts = ("selected",)

    # -- the contract ----------------------------------------------------------------------------------------------
    def view(self, data: PrefData, privileges: frozenset[str], ctx: Context) -> PreferenceView:
        tm = None
        if "true_margins" in privileges:
            if data.true_margins is None or not np.all(np.isfinite(data.true_margins)):
                raise ContractError(f"task '{self.name}' has no hidden reward: privilege 'true_margins' unavailable")
            tm = np.array(data.true_margins, dtype=float)
        check_pairs(data.pairs)
        return PreferenceView(policy=copy.deepcopy(data.policy), tokenizer=data.tokenizer, pairs=tuple(data.pairs),
                              budget=data.budget, spec=data.spec, trunk=data.trunk, max_length=data.max_length,
                              device=ctx.device, cache_dir=ctx.cache_dir, true_margins=tm)

    def check_output(self, output, data: PrefData, ctx: Context) -> TrainedPolicy:
        return CONTRACT.check_output(output, vocab_size=len(data.tokenizer))

    # -- tuning ----------------------------------------------------------------------------------------------------
    @staticmethod
    def grid(method_cfg, cfg) -> list[tuple[dict, Any]]:
        """The grid points (values, method config) of a method under the task's tuning fields."""
        fields = type(method_cfg).model_fields
        if not cfg.tuning:
            return [({}, method_cfg)]
        axes = []
        if "lr" in fields:
            axes.append([("lr", float(v)) for v in cfg.tune_lr])
        if "beta" in fields:
            axes.append([("beta", float(method_cfg.beta) * float(s)) for s in cfg.tune_beta_scale])
        points = []
        for combo in itertools.product(*axes):
            vals = dict(combo)
            points.append((vals, method_cfg.model_copy(update=vals)))
        return points or [({}, method_cfg)]

    def execute(self, method, data: PrefData, method_cfg, cfg, ctx: Context):
        points = self.grid(method_cfg, cfg)
        best, best_score, best_vals, trace = None, -np.inf, {}, []
        for vals, pcfg in points:
            out = method.fn(self.view(data, method.privileges, ctx), pcfg, ctx)
            out = self.check_output(out, data, ctx)
            if len(points) == 1:
                best, best_vals = out, vals
                break
            score = self.judged(data, out.model, "val", cfg)["lc_win_rate"]
            trace.append({**vals, "val_lc_win_rate": round(float(score), 4)})
            if score > best_score:
                best, best_score, best_vals = out, score, vals
            else:
                del out
        ctx.add_artifact("selected", ", ".join(f"{k}={v:.3g}" for k, v in sorted(best_vals.items())) or "as given")
        if trace:
            ctx.add_artifact("tuning", trace)
        return best

    # -- judging ---------------------------------------------------------------------------------------------------
    def judge(self, data: PrefData, split: dict, outputs: list[str]) -> dict:
        """{'pref': P(model wins) per prompt, optional 'pref_unbiased', 'reward'} against split['baseline']."""
        raise NotImplementedError

    def judged(self, data: PrefData, model, which: str, cfg) -> dict:
        split = data.val if which == "val" else data.eval
        outputs = generate(model, data.tokenizer, split["prompts"], cfg.max_new_tokens)
        j = self.judge(data, split, outputs)
        len_m = np.array([len(o) for o in outputs], dtype=float)
        len_b = np.array([len(o) for o in split["baseline"]], dtype=float)
        lc = lc_win_rate(j["pref"], len_m, len_b)
        return {"lc_win_rate": lc["lc_win_rate"], "win_rate": lc["win_rate"], "len_m": len_m, "outputs": outputs,
                "judge": j, "lc": lc}

    def evaluate(self, data: PrefData, output: TrainedPolicy, cfg, ctx: Context) -> dict[str, float]:
        r = self.judged(data, output.model, "eval", cfg)
        split = data.eval
        ctx.add_artifact("samples", [{"prompt": p, "output": o, "baseline": b} for p, o, b in
                                     list(zip(split["prompts"], r["outputs"], split["baseline"]))[:5]])
        ctx.add_artifact("lc_glm", {"length_coef": round(r["lc"]["length_coef"], 6),
                                    "intercept": round(r["lc"]["intercept"], 6)})
        return self.metrics_from(r, data)

    def metrics_from(self, r: dict, data: PrefData) -> dict[str, float]:
        return {"lc_win_rate": r["lc_win_rate"], "win_rate": r["win_rate"], "mean_length": float(r["len_m"].mean())}
