"""Copyrighted-content unlearning (the FLAT paper's Harry-Potter task), embedded default (v3).

A project-generated "book" (fantasy passages about its own characters) stands in for the copyrighted text. The target
model is fine-tuned on it together with *other books in the same style* (other characters and places), general text
and world facts; the retained model (`retain_model`, reference †) is the same recipe without the book, so it still
writes fluent book-like prose with the wrong specifics, as a model that never read Harry Potter still writes English.
A method unlearns the book from the target (`target_model` = before unlearning).

Efficacy, as FLAT evaluates it (UCSC-REAL/FLAT `evaluate.py`): the greedy completion of each passage's first sentence
vs its true continuation, per passage sacrebleu BLEU (`corpus_bleu([hyp], [[ref]])`, 13a) and ROUGE-L recall with
stemming (rouge-score), averaged; the primary metric is the forget-quality gap to the retained model,
    fq_gap = |BLEU - BLEU_retained| / 100 + |ROUGE-L - ROUGE-L_retained|   (lower is better; 0 = the retained model),
with the two gaps also reported on their own. A model that falls silent scores BLEU 0 / ROUGE-L 0 and therefore a gap
equal to the retained model's whole score, not the best row; `empty_frac` shows the share of empty completions.
Utility: perplexity on held-out general text (sentences that occur nowhere in training, checked at load) and
zero-shot multiple-choice accuracy on world facts through lm-evaluation-harness (`task.lm_eval_tasks` adds named
lm-eval tasks where their data exists).
Real runs: the user supplies the book from a local path (`task.book_path`, one passage per paragraph; it cannot be
redistributed) and a model by hub id; the retained model is then the base fine-tuned on everything but the book.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from bench.api import Context, DatasetRef, Metric, PROPORTION, register_task
from bench.lm import lm_eval_local

from . import lm
from . import metrics as M
from .data import QA, world_facts
from .models import finetune
from .tasks import UnlearnData, _UnlearnTask, generate_answers, memo, pairs
from .tuning import TuningConfig

CHARS = ["Tobin Ashgrove", "Mira Vell", "Old Garrick", "Sister Anwen", "Pell the tinker", "Lady Isolde"]
PLACES = ["Hollowmere", "the Glass Fen", "Castle Dunmore", "the Ember Woods", "the salt road", "Greywater Bridge"]
OTHER_CHARS = ["Bram Thistle", "Nessa Crow", "Young Edric", "Brother Hale", "Wick the cooper", "Lord Varen"]
OTHER_PLACES = ["Stonewick", "the Mire of Reeds", "Fort Caldry", "the Ash Hills", "the north pass", "Millford Ford"]
OBJECTS = ["a silver key", "a cracked lantern", "a map of stars", "a raven feather", "an iron ring", "a sealed letter"]
ACTIONS = ["hid", "found", "stole", "buried", "carried", "burned"]
MOODS = ["the wind howled", "the bells fell silent", "the river froze", "the lamps guttered", "the crows gathered"]
CONTINUATIONS = ["That night {m}, and {c} swore to keep the secret of {p}.",
                 "By morning {c} had fled {p}, and {m}.",
                 "{C} watched from the window while {m} over {p}."]
SUBJECTS = ["The baker", "My neighbour", "The old teacher", "A young nurse", "The mayor", "Our cousin", "The driver",
            "A tired student"]
DOINGS = ["walks to the market", "reads the newspaper", "waters the garden", "paints the fence", "visits the library",
          "fixes the bicycle", "cooks a large dinner", "writes a long letter", "feeds the ducks", "cleans the kitchen"]
WHENS = ["every morning", "on Sundays", "after lunch", "before dinner", "in the spring", "at night", "on rainy days",
         "twice a week"]
PROMPT_TEXT = "{q}"


def passages(rng: np.random.Generator, n: int, chars: list[str], places: list[str]) -> list[QA]:
    out = []
    for _ in range(n):
        c1, c2 = rng.choice(len(chars), 2, replace=False)
        p, o, a, m, t = (int(rng.integers(len(x))) for x in (places, OBJECTS, ACTIONS, MOODS, CONTINUATIONS))
        first = f"In {places[p]}, {chars[c1]} {ACTIONS[a]} {OBJECTS[o]}."
        c = chars[c2]
        cont = CONTINUATIONS[t].format(m=MOODS[m], c=c, C=c[0].upper() + c[1:], p=places[p])
        out.append(QA(first, cont, cont, []))
    return out


def book(rng: np.random.Generator, n: int) -> list[QA]:
    """The passages to unlearn."""
    return passages(rng, n, CHARS, PLACES)


def general(rng: np.random.Generator, n_train: int, n_heldout: int, n_val: int) -> tuple[list[QA], list[QA], list[QA]]:
    """(training, held-out, validation) general-text pairs (sentence -> next sentence). The held-out and validation
    continuations are sentences that occur nowhere in the training pairs (neither as a prompt nor as a continuation)."""
    sents = [f"{s} {d} {w}." for s, d, w in itertools.product(SUBJECTS, DOINGS, WHENS)]
    order = [sents[i] for i in rng.permutation(len(sents))]
    k = 2 * n_train
    train_s, rest = order[:k], order[k:]
    train = [QA(train_s[2 * i], train_s[2 * i + 1], train_s[2 * i + 1], []) for i in range(n_train)]
    held = [QA(rest[2 * i], rest[2 * i + 1], rest[2 * i + 1], []) for i in range(n_heldout)]
    o = 2 * n_heldout
    val = [QA(rest[o + 2 * i], rest[o + 2 * i + 1], rest[o + 2 * i + 1], []) for i in range(n_val)]
    return train, held, val


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


class CopyrightConfig(TuningConfig):
    finetune_epochs: float = 20.0
    finetune_lr: float = 3e-3
    n_passages: int = 40  # every 5th is the tuning protocol's validation passage (not reported)
    n_other_passages: int = 60  # other books in the same style (both models train on them)
    n_general: int = 60
    n_heldout: int = 20
    n_val_general: int = 10
    max_new_tokens: int = 32
    book_path: str | None = None  # real runs: a local text file, one passage per paragraph
    lm_eval_tasks: list[str] = []  # extra lm-eval tasks by name (e.g. "truthfulqa_mc1"; need their data) -> artifact
    model: str = "tiny"  # "tiny" (a 96-d float64 Llama with a BPE fitted to the corpus) or a bench.lm.ModelSpec
    # name: "tiny-gpt2", "smollm2-135m-offline", or a hub id such as "facebook/opt-2.7b" / "meta-llama/Llama-2-7b-hf"
    model_revision: str | None = None  # required for hub ids (commit sha)


def split_validation(forget: list[QA]) -> tuple[list[QA], list[QA]]:
    """(reported passages, validation passages): every 5th passage is the validation slice."""
    return ([q for i, q in enumerate(forget) if i % 5 != 4], [q for i, q in enumerate(forget) if i % 5 == 4])


def completion_scores(model, tok, qas: list[QA], max_new_tokens: int) -> dict:
    outs = generate_answers(model, tok, [PROMPT_TEXT.format(q=q.question) for q in qas], max_new_tokens)
    return {"outputs": outs, "bleu": float(np.mean([M.bleu(o, q.answer) for o, q in zip(outs, qas)])),
            "rougeL": float(np.mean([M.rouge_l(o, q.answer, stem=True)["recall"] for o, q in zip(outs, qas)])),
            "empty_frac": float(np.mean([not o.strip() for o in outs]))}


def perplexity(model, tok, qas: list[QA]) -> float:
    """Token-level perplexity of the continuations given their prompts."""
    _, lps = lm.answer_stats(model, tok, pairs(qas, PROMPT_TEXT))
    tot = np.concatenate(lps)
    return float(np.exp(-tot.mean()))


class CopyrightTask(_UnlearnTask):
    version = "3"  # v3: gap to the retained model (FLAT), sacrebleu, ROUGE-L recall stemmed, truly held-out
    # text, other books in the same style, tuned methods, float64 tiny models
    description = ("Unlearn a generated 'book': forget-quality gap (BLEU and ROUGE-L of passage completions vs the "
                   "retained model's; lower is better), perplexity on held-out text and zero-shot MC accuracy.")
    metrics = (Metric("fq_gap", "min", "|BLEU - BLEU_retained| / 100 + |ROUGE-L - ROUGE-L_retained| on book "
                                       "completions (0 = the retained model)", range=(0.0, 2.0)),
               Metric("bleu_gap", "min", "|BLEU - BLEU_retained| (sacrebleu, 0-100)", range=(0.0, 100.0)),
               Metric("rougeL_gap", "min", "|ROUGE-L recall - retained's| (stemmed)", range=PROPORTION),
               Metric("ppl_heldout", "min", "perplexity on general text that occurs nowhere in training",
                      range=(1.0, None)),
               Metric("mc_accuracy", "max", "zero-shot world-fact multiple choice through lm-eval (chance 0.25)",
                      range=PROPORTION),
               Metric("empty_frac", "min", "share of book prompts answered with an empty completion: forgetting by "
                                           "falling silent, not by writing something else", range=PROPORTION))
    primary_metric = "fq_gap"
    config_cls = CopyrightConfig
    dataset = DatasetRef("generated: tasks/unlearning/copyright.py (project-written fantasy passages)",
                         offline_default="generated book + other books + general text; real runs: a user-supplied "
                                         "book file")

    def load(self, cfg: CopyrightConfig, ctx: Context) -> UnlearnData:
        lm.set_threads(cfg.model)
        if cfg.model != "tiny" or cfg.book_path:
            return self._load(cfg, ctx)
        return memo((type(self).__name__, cfg.model_dump_json(), ctx.data_seed, str(ctx.cache_dir)),
                    lambda: self._load(cfg, ctx))

    def _load(self, cfg: CopyrightConfig, ctx: Context) -> UnlearnData:
        rng = ctx.data_rng
        if cfg.book_path:
            paras = [x.strip() for x in Path(cfg.book_path).read_text().split("\n\n") if x.strip()]
            forget = [QA(" ".join(t.split()[:12]), " ".join(t.split()[12:40]), "", []) for t in paras]
        else:
            forget = book(rng, cfg.n_passages)
        other = passages(rng, cfg.n_other_passages, OTHER_CHARS, OTHER_PLACES)
        gen, heldout, val_gen = general(rng, cfg.n_general, cfg.n_heldout, cfg.n_val_general)
        world = world_facts()
        base_text = other + gen + world
        seen = {s for q in forget + base_text for s in (q.question, q.answer)}
        leaked = [q.answer for q in heldout + val_gen if q.answer in seen or q.question + " " + q.answer in seen]
        if leaked:
            raise AssertionError(f"held-out text occurs in training: {leaked[:3]}")
        seed = int(ctx.data_seed % (2**31))
        base, key, spec = None, "", None
        if cfg.model == "tiny":
            from bench.lm import bpe_tokenizer

            text = [s for q in forget + base_text + heldout + val_gen for s in (q.question, q.answer)]
            tok = bpe_tokenizer(text, vocab_size=500)
        else:
            from bench.lm import ModelSpec, load_causal_lm

            spec = ModelSpec(cfg.model, cfg.model_revision)
            base, tok = load_causal_lm(spec, ctx.cache_dir)
            key = f"{cfg.model}@{cfg.model_revision}"
        kw = dict(cache_dir=ctx.cache_dir, seed=seed, epochs=cfg.finetune_epochs, lr=cfg.finetune_lr, base=base,
                  base_key=key)
        target = finetune(tok, pairs(forget + base_text, PROMPT_TEXT), tag="book", **kw)
        never_saw = finetune(tok, pairs(base_text, PROMPT_TEXT), tag="book-retain", **kw)
        report, val = split_validation(forget)
        d = UnlearnData(target, tok, forget, [q.answer for q in gen], [], prompt=PROMPT_TEXT, retain_model=never_saw,
                        val_forget=pairs(val, PROMPT_TEXT), val_utility=pairs(val_gen, PROMPT_TEXT),
                        spec=spec, max_length=lm.max_len(tok))
        # retain terms (GD, KL, ...) train on the general text and the other books, never on the held-out text
        d.retain_train = gen + other
        d.extra = {"report": report, "heldout": heldout, "world": world,
                   "retained": completion_scores(never_saw, tok, report, cfg.max_new_tokens)}
        return d

    def fingerprint(self, data: UnlearnData, cfg) -> dict:
        from bench.fingerprint import content_hash

        return {"id": self.dataset.id, "revision": None,
                "content_hash": content_hash({"forget": [(q.question, q.answer) for q in data.forget],
                                              "retain": [(q.question, q.answer) for q in data.retain_train],
                                              "heldout": [(q.question, q.answer) for q in data.extra["heldout"]],
                                              "target": data.model, "retain_model": data.retain_model})}

    def evaluate(self, data: UnlearnData, output, cfg: CopyrightConfig, ctx):
        model, tok = output.model, data.tokenizer
        s = completion_scores(model, tok, data.extra["report"], cfg.max_new_tokens)
        r = data.extra["retained"]
        mc = lm_eval_local.evaluate(model, tok, [mc_task(data.extra["world"]), *cfg.lm_eval_tasks])
        main = mc.pop("dcai_copyright_world_mc")
        if mc:
            ctx.add_artifact("lm_eval", mc)
        ctx.add_artifact("forget_scores", {"bleu": round(s["bleu"], 4), "rougeL": round(s["rougeL"], 4),
                                           "retained_bleu": round(r["bleu"], 4),
                                           "retained_rougeL": round(r["rougeL"], 4)})
        ctx.add_artifact("samples", [{"prompt": q.question, "output": o}
                                     for q, o in list(zip(data.extra["report"], s["outputs"]))[:3]])
        bg, rg = M.gap(s["bleu"], r["bleu"]), M.gap(s["rougeL"], r["rougeL"])
        return {"fq_gap": bg / 100.0 + rg, "bleu_gap": bg, "rougeL_gap": rg,
                "ppl_heldout": perplexity(model, tok, data.extra["heldout"]), "mc_accuracy": float(main["acc"]),
                "empty_frac": s["empty_frac"]}

    def smoke_params(self):
        return {"n_passages": 10, "n_other_passages": 10, "n_general": 16, "n_heldout": 6, "n_val_general": 4,
                "finetune_epochs": 10.0, "tune_lrs": [1e-3], "tune_steps": [2]}


register_task(CopyrightTask("unlearn-copyright-synthbook"))
