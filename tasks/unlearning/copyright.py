"""Copyrighted-content unlearning (the FLAT paper's Harry-Potter-style task), embedded default.

A project-generated long-form "book" (a fantasy novel in short passages about fictitious characters) stands in for
the copyrighted text: the target model is fine-tuned on it together with general text (its row, `target_model`, is the
model before unlearning), then a method unlearns the book; `retain_model` (reference †) never saw the book. Efficacy: BLEU and ROUGE-L between the model's greedy completions of book prompts (each passage's first
sentence) and the true continuations (lower = more forgotten). Utility: perplexity on held-out general text and
zero-shot multiple-choice accuracy through lm-evaluation-harness (a local multiple_choice task: world facts vs
perturbed answers, TruthfulQA-MC1 style; `task.lm_eval_tasks` adds named lm-eval tasks where their data exists). Real runs: the user supplies the book text from a local path (`task.book_path`,
one passage per paragraph; it cannot be redistributed) and a model by hub id (e.g. OPT-2.7B, Llama-2-7B)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.api import Context, DatasetRef, Metric, PROPORTION, register_task
from bench.config import StrictConfig
from bench.lm import lm_eval_local

from . import metrics as M
from .data import QA, world_facts
from .models import finetune
from .tasks import UnlearnData, _nll, _UnlearnTask

CHARS = ["Tobin Ashgrove", "Mira Vell", "Old Garrick", "Sister Anwen", "Pell the tinker", "Lady Isolde"]
PLACES = ["Hollowmere", "the Glass Fen", "Castle Dunmore", "the Ember Woods", "the salt road", "Greywater Bridge"]
OBJECTS = ["a silver key", "a cracked lantern", "a map of stars", "a raven feather", "an iron ring", "a sealed letter"]
ACTIONS = ["hid", "found", "stole", "buried", "carried", "burned"]
MOODS = ["the wind howled", "the bells fell silent", "the river froze", "the lamps guttered", "the crows gathered"]
GENERAL = ["The market opens at nine and closes at six.", "Fresh bread is baked every morning.",
           "The train to the coast leaves from platform two.", "Children play football in the park after school.",
           "The library lends books for three weeks.", "Rain is expected later in the week.",
           "The museum is free on the first Sunday.", "Farmers sell apples and pears at the fair."]
PROMPT_TEXT = "{q}"


def book(rng: np.random.Generator, n: int) -> list[QA]:
    out = []
    for _ in range(n):
        c1, c2 = rng.choice(len(CHARS), 2, replace=False)
        p, o, a, m = (int(rng.integers(len(x))) for x in (PLACES, OBJECTS, ACTIONS, MOODS))
        first = f"In {PLACES[p]}, {CHARS[c1]} {ACTIONS[a]} {OBJECTS[o]}."
        cont = f"That night {MOODS[m]}, and {CHARS[c2]} swore to keep the secret of {PLACES[p]}."
        out.append(QA(first, cont, cont, []))
    return out


def general(rng: np.random.Generator, n: int) -> list[QA]:
    out = []
    for _ in range(n):
        i, j = rng.choice(len(GENERAL), 2, replace=False)
        out.append(QA(GENERAL[i], GENERAL[j], GENERAL[j], []))
    return out


def bleu(pred: str, ref: str, max_n: int = 4) -> float:
    """Sentence BLEU-4 on whitespace tokens with sacrebleu's default 'exp' smoothing and brevity penalty (x100)."""
    p, r = pred.split(), ref.split()
    if not p:
        return 0.0
    logs, k = 0.0, 1
    for n in range(1, max_n + 1):
        pc = {}
        for i in range(len(p) - n + 1):
            g = tuple(p[i:i + n])
            pc[g] = pc.get(g, 0) + 1
        rc = {}
        for i in range(len(r) - n + 1):
            g = tuple(r[i:i + n])
            rc[g] = rc.get(g, 0) + 1
        match = sum(min(c, rc.get(g, 0)) for g, c in pc.items())
        if n == 1 and match == 0:
            return 0.0  # as sacrebleu: no unigram in common scores 0 (smoothing applies to higher orders)
        total = max(len(p) - n + 1, 0)
        if total == 0:
            prec = 0.0
        elif match == 0:
            k *= 2
            prec = 1.0 / (k * total)
        else:
            prec = match / total
        if prec == 0:
            return 0.0
        logs += math.log(prec) / max_n
    bp = 1.0 if len(p) > len(r) else math.exp(1 - len(r) / len(p))
    return 100.0 * bp * math.exp(logs)


def mc_task(world: list[QA]) -> "lm_eval_local.LocalTask":
    """World-knowledge multiple choice (TruthfulQA-MC1 style: one true statement, three perturbed ones; chance 0.25),
    answer position rotated so that a constant choice scores exactly chance."""
    docs = []
    for k, q in enumerate(world):
        choices = list(q.perturbed)
        label = k % (len(choices) + 1)
        choices.insert(label, q.answer)
        docs.append({"question": PROMPT_TEXT.format(q=q.question), "choices": choices, "label": label})
    return lm_eval_local.LocalTask("dcai_copyright_world_mc", "multiple_choice", docs)


class CopyrightConfig(StrictConfig):
    n_passages: int = 24
    n_general: int = 60
    finetune_steps: int = 300
    book_path: str | None = None  # real runs: a local text file, one passage per paragraph
    lm_eval_tasks: list[str] = []  # extra lm-eval tasks by name (e.g. "truthfulqa_mc1"; need their data) -> artifact
    model: str = "tiny"  # "tiny" (a 96-d Llama with a BPE fitted to the corpus) or a bench.lm.ModelSpec name:
    # "tiny-gpt2", "smollm2-135m-offline", or a hub id such as "facebook/opt-2.7b" / "meta-llama/Llama-2-7b-hf"
    model_revision: str | None = None  # required for hub ids (commit sha)
    finetune_lr: float = 3e-3


class CopyrightTask(_UnlearnTask):
    description = ("Unlearn a generated 'book': BLEU / ROUGE-L of completions of its passages (lower = forgotten), "
                   "perplexity on held-out general text and zero-shot MC accuracy (utility).")
    metrics = (Metric("rougeL_forget", "min", range=PROPORTION), Metric("bleu_forget", "min", range=(0.0, 100.0)),
               Metric("ppl_heldout", "min", range=(1.0, None)), Metric("mc_accuracy", "max", range=PROPORTION),
               Metric("empty_frac", "min", "share of book prompts answered with an empty completion: forgetting by "
                                           "falling silent, not by writing something else", range=PROPORTION))
    primary_metric = "rougeL_forget"
    config_cls = CopyrightConfig
    dataset = DatasetRef("generated: tasks/unlearning/copyright.py (project-written fantasy passages)",
                         offline_default="generated book + general text; real runs: a user-supplied book file")

    def load(self, cfg: CopyrightConfig, ctx: Context) -> UnlearnData:
        import torch

        from bench.lm import bpe_tokenizer

        torch.set_num_threads(2)
        rng = ctx.data_rng
        if cfg.book_path:
            paras = [x.strip() for x in Path(cfg.book_path).read_text().split("\n\n") if x.strip()]
            forget = [QA(" ".join(t.split()[:12]), " ".join(t.split()[12:40]), "", []) for t in paras]
        else:
            forget = book(rng, cfg.n_passages)
        gen = general(rng, cfg.n_general + 20)
        retain, heldout = gen[:cfg.n_general], gen[cfg.n_general:]
        world = world_facts()
        text = [q.question + " " + q.answer for q in forget + gen] + [q.question + " " + q.answer for q in world]
        seed = int(ctx.data_seed % (2**31))
        base, key = None, ""
        if cfg.model == "tiny":
            tok = bpe_tokenizer(text + ["I don't know that."], vocab_size=500)
        else:
            from bench.lm import ModelSpec, load_causal_lm

            base, tok = load_causal_lm(ModelSpec(cfg.model, cfg.model_revision), ctx.cache_dir)
            key = f"{cfg.model}@{cfg.model_revision}"
        kw = {"base": base, "base_key": key, "lr": cfg.finetune_lr}
        target = finetune(tok, forget + retain + world, ctx.cache_dir, seed, cfg.finetune_steps, "book", PROMPT_TEXT,
                          **kw)
        never_saw = finetune(tok, retain + world, ctx.cache_dir, seed, cfg.finetune_steps, "book-retain", PROMPT_TEXT,
                             **kw)
        d = UnlearnData(target, tok, forget, retain + world, ["I don't know that.", "I cannot continue that text."],
                        prompt=PROMPT_TEXT, retain_model=never_saw)
        d.ref_stats = {"heldout": heldout, "world": world}
        return d

    def execute(self, method, data: UnlearnData, method_cfg, cfg, ctx):
        import copy

        src = data.retain_model if method.name == "retain_model" else data.model
        view = UnlearnData(copy.deepcopy(src), data.tokenizer, data.forget, data.retain, data.idk, prompt=data.prompt)
        return method.fn(view, method_cfg, ctx)

    def fingerprint(self, data: UnlearnData, cfg) -> dict:
        from bench.fingerprint import content_hash

        return {"id": self.dataset.id, "revision": None,
                "content_hash": content_hash({"forget": [(q.question, q.answer) for q in data.forget],
                                              "retain": [(q.question, q.answer) for q in data.retain],
                                              "target": data.model, "retain_model": data.retain_model})}

    def evaluate(self, data: UnlearnData, model, cfg, ctx):
        from bench.lm import greedy_generate as greedy

        tok = data.tokenizer
        outs = greedy(model, tok, [q.question for q in data.forget], max_new_tokens=28)
        b = [bleu(o.strip(), q.answer) for o, q in zip(outs, data.forget)]
        r = [M.rouge_l(o, q.answer)["f"] for o, q in zip(outs, data.forget)]
        held, _ = _nll(model, tok, data.ref_stats["heldout"], prompt=PROMPT_TEXT)
        mc = lm_eval_local.evaluate(model, tok, [mc_task(data.ref_stats["world"]), *cfg.lm_eval_tasks])
        main = mc.pop("dcai_copyright_world_mc")
        if mc:
            ctx.add_artifact("lm_eval", mc)
        ctx.add_artifact("samples", [{"prompt": q.question, "output": o} for q, o in list(zip(data.forget, outs))[:3]])
        return {"rougeL_forget": float(np.mean(r)), "bleu_forget": float(np.mean(b)),
                "ppl_heldout": float(np.exp(np.mean(held))), "mc_accuracy": float(main["acc"]),
                "empty_frac": float(np.mean([not o.strip() for o in outs]))}

    def smoke_params(self):
        return {"n_passages": 8, "n_general": 16, "finetune_steps": 40}


register_task(CopyrightTask("unlearn-copyright-synthbook"))
