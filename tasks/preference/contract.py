"""Contract of the `preference` family.

Input (`PreferenceView`): the method's own copy of the SFT policy (it is also the reference model: the policy as
handed over), its tokenizer, the preference pairs with their *visible* margins (the annotator's score difference),
the training budget every method of the task gets (steps, batch size), how the policy is fine-tuned (`spec`:
LoRA / full, trainable top layers), the frozen trunk of the policy for cheap forward passes (or None), and the
sequence limit from the tokenizer / model. It never holds the hidden reward, the true margins, the judge or the
validation / evaluation prompts.

Output (`TrainedPolicy`): the trained policy (a causal LM that the task will prompt and judge). A method may return
the model itself; `coerce` wraps it.

Privilege `true_margins` (unranked: it reveals the hidden reward): the hidden true margin of each pair, for oracle
rows only; tasks on real data have none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.contract import Contract, ContractError, Privilege, register_contract


@dataclass(frozen=True)
class VisiblePair:
    """One preference pair as a method sees it: `margin` >= 0 is the annotator's score difference (small = hard)."""

    prompt: str
    chosen: str
    rejected: str
    margin: float


@dataclass(frozen=True)
class PairBudget:
    """How much every method of a task trains: `steps` optimiser steps of `batch_size` pairs."""

    steps: int
    batch_size: int


@dataclass
class PreferenceView:
    """A method's input (see the module docstring). Train `policy` in place (or a copy) and return it."""

    policy: Any
    tokenizer: Any
    pairs: tuple[VisiblePair, ...]
    budget: PairBudget
    spec: Any = None  # bench.lm.ModelSpec (None: full fine-tuning of every weight, e.g. a tiny model)
    trunk: Any = None  # bench.lm.FrozenTrunk of `policy` when only its top layers train, else None
    max_length: int | None = None  # sequence limit (tokenizer / model): a longer pair is an error, never a cut
    device: str = "cpu"
    cache_dir: Any = None  # where content-keyed caches (reference log-probs) may be written
    true_margins: np.ndarray | None = None  # privilege 'true_margins' only

    @property
    def margins(self) -> np.ndarray:
        return np.array([p.margin for p in self.pairs], dtype=np.float64)


@dataclass
class TrainedPolicy:
    """A method's output: the trained causal LM."""

    model: Any

    @classmethod
    def coerce(cls, value: object) -> "TrainedPolicy":
        return value if isinstance(value, TrainedPolicy) else cls(value)

    def validate(self, vocab_size: int | None = None) -> None:
        import torch

        m = self.model
        if not isinstance(m, torch.nn.Module) or not hasattr(m, "generate"):
            raise ContractError(f"a preference method must return the trained policy (a causal LM with "
                                f"`generate`), got {type(m).__name__}")
        emb = m.get_output_embeddings() if hasattr(m, "get_output_embeddings") else None
        if vocab_size is not None and emb is not None and emb.weight.shape[0] < vocab_size:
            raise ContractError(f"the returned policy's output layer has {emb.weight.shape[0]} rows but the "
                                f"tokenizer has {vocab_size} tokens")
        for name, p in m.named_parameters():
            if not torch.isfinite(p).all():
                raise ContractError(f"the returned policy has non-finite weights in '{name}'")


def check_pairs(pairs) -> None:
    for i, p in enumerate(pairs):
        if not (isinstance(p.margin, float) and math.isfinite(p.margin) and p.margin >= 0):
            raise ContractError(f"pair {i}: margin must be a finite number >= 0, got {p.margin!r}")


CONTRACT = register_contract(Contract(
    family="preference",
    input_type=PreferenceView,
    output_type=TrainedPolicy,
    description=("SFT policy copy, tokenizer, preference pairs with visible margins, training budget and fine-tuning "
                 "spec in; the trained policy out"),
    privileges=(Privilege("true_margins", "the hidden reward's margin of each pair (label flips visible)",
                          ranked=False),),
    null_method="sft_model",
    easy_task="pref-sort",
    # the easy instance: near-clean labels, one conservative grid point (lr 1e-4, each method's own beta), 300 judged
    # prompts so that LC's L1 fit does not shrink a real gain to exactly 50. Measured (3 seeds, mean LC vs 50): dpo
    # 52.2, ipo 52.3, cdpo 52.1, robust_dpo 51.4, mixdpo 52.9, kto 52.3, orpo 52.0 beat the null; simpo 49.9 does not
    # (nor with 5x beta: 49.3) -- a measured failure of reference-free SimPO here, see docs/preference.md.
    easy_overrides=(("annotator_noise", 0.05), ("n_pairs", 96), ("n_eval", 300), ("steps", 24), ("batch_size", 8),
                    ("tune_lr", (1e-4,)), ("tune_beta_scale", (1.0,))),
))
