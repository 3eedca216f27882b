"""Contracts of `sft.token_selection` and `sft.sample_selection`.

Input (`SFTView`): the SFT pool (encoded examples and their (prompt, response) texts), the base model (the method's
own copy), the tokenizer, the clean seed set (the reference data of token cleaning, Rho-1, ...), the training budget
and fine-tuning spec the harness will use, and the pool's frozen trunk / cache directory for cheap scoring. It never
holds evaluation data or the injected-noise labels.

Output (`Selection`): what to train on. Any of
- `token_weights`: one non-negative array per pool example, aligned with its `input_ids` (prompt positions are
  ignored by the loss);
- `sample_weights`: one non-negative number per pool example;
- `responses`: repaired responses by pool index (data repair, e.g. ENTP); not combinable with `token_weights`;
- `order`: the order in which the harness trains on pool examples (consecutive batches; e.g. the chunk chain of
  self-evolving token cleaning);
- `token_weight_fn`: a per-batch plug-in `fn(BatchView) -> [B, T] weights` evaluated during the harness's training
  with the model being trained (e.g. Rho-1's excess loss against a reference, per batch).
The harness trains a copy of the base with it (same optimiser, steps and batch size for every method) and evaluates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.contract import Contract, ContractError, register_contract


@dataclass(frozen=True)
class TrainBudget:
    """How the harness trains on a selection (the same for every method of a task)."""

    steps: int
    batch_size: int
    lr: float
    ref_epochs: float = 16.0  # the task's default for reference models trained on the seed set (methods may override)


@dataclass
class SFTView:
    """A method's input. `base` is the method's own copy of the model before SFT (train copies of it, not it);
    `spec` says how the harness fine-tunes it (full / LoRA, trainable top layers), so reference models can be trained
    the same way; `trunk` (or None) caches the frozen bottom of `base` for fast scoring (`bench.lm.trunk`)."""

    tokenizer: Any
    base: Any
    examples: list[dict]
    texts: list[tuple[str, str]]
    seed_examples: list[dict]
    seed_texts: list[tuple[str, str]]
    budget: TrainBudget
    spec: Any = None  # bench.lm.ModelSpec of the harness's fine-tuning (None: full fine-tuning of a tiny model)
    max_length: int | None = None  # sequence limit used to encode the pool (re-encode new text with the same)
    response_tokens: int = 16  # typical response length in tokens (a generation budget for rewriting methods)
    trunk: Any = None
    cache_dir: Path | None = None
    judge: Any = None  # (model, tokenizer) of a pretrained LM a method may prompt (e.g. to rate samples), or None

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id


@dataclass
class Selection:
    token_weights: list[np.ndarray] | None = None
    sample_weights: np.ndarray | None = None
    responses: dict[int, str] | None = None
    order: np.ndarray | None = None
    token_weight_fn: Callable | None = field(default=None, repr=False)

    @classmethod
    def coerce(cls, value: object) -> "Selection":
        if isinstance(value, np.ndarray) and value.ndim == 1:
            return cls(sample_weights=value)
        return value  # type: ignore[return-value]

    def validate(self, n: int | None = None, lengths: list[int] | None = None) -> None:
        """Raise ContractError naming the first thing that is wrong."""
        if self.token_weights is not None:
            if n is not None and len(self.token_weights) != n:
                raise ContractError(f"token_weights: expected one array per pool example ({n}), got "
                                    f"{len(self.token_weights)}")
            for i, w in enumerate(self.token_weights):
                w = np.asarray(w)
                if w.ndim != 1:
                    raise ContractError(f"token_weights[{i}] must be 1-D, got shape {w.shape}")
                if lengths is not None and len(w) != lengths[i]:
                    raise ContractError(f"token_weights[{i}] has length {len(w)}, but example {i} has "
                                        f"{lengths[i]} tokens")
                if not np.all(np.isfinite(w)) or (w < 0).any():
                    raise ContractError(f"token_weights[{i}] must be finite and non-negative")
        if self.sample_weights is not None:
            sw = np.asarray(self.sample_weights, dtype=np.float64)
            if sw.ndim != 1 or (n is not None and sw.shape != (n,)):
                raise ContractError(f"sample_weights must be {n} non-negative numbers, got shape {sw.shape}")
            if not np.all(np.isfinite(sw)) or (sw < 0).any():
                raise ContractError(f"sample_weights must be {n} non-negative numbers (finite)")
            if not (sw > 0).any():
                raise ContractError("sample_weights keep no sample")
        if self.responses is not None:
            if self.token_weights is not None:
                raise ContractError("responses (repairs) cannot be combined with token_weights: the weights are "
                                    "aligned with the original tokens")
            for i, r in self.responses.items():
                if not (isinstance(i, (int, np.integer)) and (n is None or 0 <= i < n)) or not isinstance(r, str):
                    raise ContractError(f"responses: keys must be example indices in [0, {n}) and values strings, "
                                        f"got {i!r}: {type(r).__name__}")
                if not r.strip():
                    raise ContractError(f"responses[{i}] is empty")
        if self.order is not None:
            o = np.asarray(self.order)
            if o.ndim != 1 or len(o) == 0 or not np.issubdtype(o.dtype, np.integer):
                raise ContractError(f"order must be a non-empty 1-D integer array, got {o.dtype} {o.shape}")
            if n is not None and (o.min() < 0 or o.max() >= n):
                raise ContractError(f"order: indices must lie in [0, {n})")
        if self.token_weight_fn is not None and not callable(self.token_weight_fn):
            raise ContractError("token_weight_fn must be callable: fn(BatchView) -> [B, T] weights")


_DOC = ("pool (examples, texts), base model copy, tokenizer, clean seed set, training budget and spec in; "
        "Selection (token weights / sample weights / repairs / order / per-batch token-weight plug-in) out")

TOKEN = register_contract(Contract(
    family="sft.token_selection",
    input_type=SFTView,
    output_type=Selection,
    description=_DOC,
    null_method="random_token_drop",
    easy_task="sft-token-sort",
))

SAMPLE = register_contract(Contract(
    family="sft.sample_selection",
    input_type=SFTView,
    output_type=Selection,
    description=_DOC,
    null_method="random_subset",
    easy_task="sft-sample-sort",
))
