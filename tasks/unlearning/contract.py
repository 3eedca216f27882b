"""Contract of the `unlearning` family.

Input (`UnlearnView`): a trainable copy of the target model (LoRA adapters on top of it when the task's model spec
says so), its tokenizer, the unlearning request (`forget`: prompts and the answers to forget), template answers
(FLAT's y_e / IdkPO's "I don't know" answers; generic text on the copyright task), the prompt format and the sequence
cap. Nothing about the retain set or the retain model unless the method declares a privilege:
- `retain_data` (ranked): retain-set pairs for a retain term (GD, KL, NPO-RT, IdkPO, SimNPO). They are never the
  utility evaluation set nor the tuning protocol's validation set.
- `retain_model` (unranked: it is the gold standard the metrics compare with): the model fine-tuned without the
  forget set; only the `retain_model` reference row holds it.
`checkpoint(step, model)` is the tuning protocol's hook: a method that trains for `cfg.steps` optimizer steps calls it
after each step (the family's loop `baselines/unlearning/_loop.py` does), so the task can score intermediate step
counts of its grid without retraining; a method that never calls it is rerun once per step count of the grid.

Output (`UnlearnedModel`): the unlearned causal LM. A bare `torch.nn.Module` is accepted and wrapped. `validate`
names what is wrong (not a model, no logits, a vocabulary that does not match the tokenizer, non-finite weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from bench.contract import Contract, ContractError, Privilege, register_contract

from .data import QA


@dataclass(frozen=True)
class UnlearnView:
    """A method's input."""

    model: Any
    tokenizer: Any
    forget: tuple[QA, ...]
    templates: tuple[str, ...]
    prompt: str
    max_length: int
    retain_data: tuple[QA, ...] | None = None  # privilege `retain_data`
    retain_model: Any = None  # privilege `retain_model` (reference rows only)
    checkpoint: Callable[[int, Any], None] | None = None

    def report(self, step: int, model: Any) -> None:
        """Tell the tuning protocol that `step` optimizer steps are done (no-op outside tuning)."""
        if self.checkpoint is not None:
            self.checkpoint(step, model)


@dataclass(frozen=True)
class UnlearnedModel:
    """A method's output: the unlearned causal LM."""

    model: Any

    @classmethod
    def coerce(cls, value: object) -> "UnlearnedModel":
        import torch

        if isinstance(value, torch.nn.Module):
            return cls(value)
        return value  # type: ignore[return-value]  # check_output reports the wrong type

    def validate(self, vocab_size: int | None = None) -> None:
        import torch

        m = self.model
        if not isinstance(m, torch.nn.Module) or not callable(getattr(m, "generate", None)):
            raise ContractError(f"an unlearning method must return a causal LM (a transformers model with forward and "
                                f"generate), got {type(m).__name__}")
        emb = m.get_output_embeddings() if hasattr(m, "get_output_embeddings") else None
        n = getattr(emb, "out_features", None) or getattr(getattr(m, "config", None), "vocab_size", None)
        if vocab_size is not None and n is not None and n < vocab_size:
            raise ContractError(f"the returned model scores {n} tokens but the tokenizer has {vocab_size}")
        for name, p in m.named_parameters():
            if not torch.isfinite(p).all():
                raise ContractError(f"the returned model has non-finite weights in '{name}'")


CONTRACT = register_contract(Contract(
    family="unlearning",
    input_type=UnlearnView,
    output_type=UnlearnedModel,
    description="a trainable copy of the target model, tokenizer, forget pairs, template answers, prompt in; the "
                "unlearned model out",
    privileges=(
        Privilege("retain_data", "retain-set pairs for a retain term (disjoint from the utility evaluation and the "
                                 "tuning validation sets)"),
        Privilege("retain_model", "the model fine-tuned without the forget set (the metrics' gold standard)",
                  ranked=False),
    ),
    null_method="target_model",
    easy_task="unlearn-tofu-synth-forget10",
    # 15 fine-tuning epochs: the target still memorises the forget set (forget quality 0.012-0.034 over the 3 seeds)
    # and every method clears it (means 0.18-0.50); 10 epochs leave the target at 0.03-0.34 (no easy instance), 30
    # cost twice the CPU for the same verdicts (measured 2026-11-29, docs/unlearning.md)
    easy_overrides=(("n_authors", 16), ("n_forget_authors", 4), ("n_holdout", 4), ("n_retain_train", 6),
                    ("n_retain_val", 2), ("finetune_epochs", 15), ("tune_lrs", (1e-3,)), ("tune_steps", (10, 20))),
))
