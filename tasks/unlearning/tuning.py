"""The family's tuning protocol, run by the task (the harness side), never by the method.

Every method whose config has `lr` and `steps` gets the same declared budget: the grid `tune_lrs` x `tune_steps` of
the task config. For each learning rate the method trains once for max(tune_steps) steps and reports each optimizer
step through `UnlearnView.report` (the family loop does), so every step count of the grid is scored on the same run
(the loop's learning rate is constant, so the model after s steps of a longer run is the s-step model); a method
that does not report is rerun once per step count.

Selection happens on a validation split that is neither the reported forget set nor the utility evaluation set:
- efficacy `D` = mean over the validation forget pairs (a slice of the request, left out of the reported forget
  metrics) of |NLL_model - NLL_retain| (mean per-token NLL of the answer): distance to the model that never saw the
  forget set; it penalises under- and over-unlearning alike (an answer pushed to NLL 20 is as far from the retain
  model as one still memorised);
- utility `U` = mean answer probability exp(-NLL) on the validation utility pairs (retain questions that no method
  trains on and no reported metric uses; held-out general text on the copyright task).
Rule (declared, as open-unlearning's "best forgetting at acceptable utility"): among grid points with
U >= utility_floor * U(target), the smallest D; when none keeps the floor, the largest U. Ties keep the earlier grid
point (smaller learning rate, fewer steps). The selected values are the cell's artifacts `selected_lr` and
`selected_steps`; the whole grid with its scores is the artifact `tuning`.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from bench.config import StrictConfig

from . import lm


class TuningConfig(StrictConfig):
    tune: bool = True  # False: run the method once with its own config (lr, steps as given)
    # strict=False: a tuple is accepted too (hashable task overrides, e.g. the contract's easy_overrides)
    tune_lrs: list[float] = Field(default_factory=lambda: [1e-4, 3e-4, 1e-3], strict=False)
    tune_steps: list[int] = Field(default_factory=lambda: [10, 20], strict=False)
    utility_floor: float = Field(0.9, ge=0.0, le=1.0)


@dataclass
class Score:
    lr: float
    steps: int
    D: float
    U: float
    feasible: bool

    def row(self) -> dict:
        return {"lr": self.lr, "steps": self.steps, "D": round(self.D, 6), "U": round(self.U, 6),
                "feasible": self.feasible}


def better(a: Score, b: Score | None) -> bool:
    if b is None:
        return True
    if a.feasible != b.feasible:
        return a.feasible
    return a.D < b.D if a.feasible else a.U > b.U


def tunable(method_cfg: Any) -> bool:
    fields = set(type(method_cfg).model_fields)
    return {"lr", "steps"} <= fields


class Validator:
    """Scores a model on the validation split against the retain model (computed once)."""

    def __init__(self, data, floor: float):
        self.tok = data.tokenizer
        self.forget = list(data.val_forget)
        self.utility = list(data.val_utility)
        if not self.forget or not self.utility:
            raise ValueError("the tuning protocol needs validation forget and utility pairs")
        self.ref, _ = lm.answer_stats(data.retain_model, self.tok, self.forget)
        self.u_target = self._u(data.model)
        self.floor = floor

    def _u(self, model) -> float:
        nll, _ = lm.answer_stats(model, self.tok, self.utility)
        return float(np.mean(np.exp(-nll)))

    def score(self, model, lr: float, steps: int) -> Score:
        nll, _ = lm.answer_stats(model, self.tok, self.forget)
        u = self._u(model)
        return Score(lr, steps, float(np.mean(np.abs(nll - self.ref))), u, u >= self.floor * self.u_target)


def run_tuned(task, method, data, method_cfg, cfg: TuningConfig, ctx):
    """Run the grid; return the selected output (validated by the contract) and record the selection."""
    val = Validator(data, cfg.utility_floor)
    grid = sorted(set(int(s) for s in cfg.tune_steps))
    if not grid or min(grid) < 1 or not cfg.tune_lrs:
        raise ValueError(f"tuning grid must have learning rates and positive step counts, got {cfg.tune_lrs} x {grid}")
    rows: list[Score] = []
    best: tuple[Score, Any] | None = None

    def consider(s: Score, model, snapshot: bool) -> None:
        nonlocal best
        rows.append(s)
        if better(s, best[0] if best else None):
            best = (s, copy.deepcopy(model) if snapshot else model)

    for lr in cfg.tune_lrs:
        seen: set[int] = set()

        def checkpoint(step: int, model, lr=lr, seen=seen) -> None:
            if step in grid and step not in seen:
                seen.add(step)
                was = model.training
                consider(val.score(model, lr, step), model, snapshot=True)
                model.train(was)

        mcfg = method_cfg.model_copy(update={"lr": float(lr), "steps": grid[-1]})
        view = dataclasses.replace(task.view(data, method.privileges, ctx), checkpoint=checkpoint)
        out = task.check_output(method.fn(view, mcfg, ctx), data, ctx)
        if grid[-1] not in seen:
            seen.add(grid[-1])
            consider(val.score(out.model, lr, grid[-1]), out.model, snapshot=False)
        for s in grid:
            if s not in seen:  # the method did not report intermediate steps: rerun it for this step count
                o = task.check_output(method.fn(task.view(data, method.privileges, ctx),
                                                method_cfg.model_copy(update={"lr": float(lr), "steps": s}), ctx),
                                      data, ctx)
                consider(val.score(o.model, lr, s), o.model, snapshot=False)
    chosen, model = best
    ctx.add_artifact("selected_lr", chosen.lr)
    ctx.add_artifact("selected_steps", chosen.steps)
    ctx.add_artifact("tuning", {"rule": f"min D s.t. U >= {cfg.utility_floor} * U(target); else max U",
                                "U_target": round(val.u_target, 6), "grid": [r.row() for r in rows]})
    return task.check_output(model, data, ctx)
