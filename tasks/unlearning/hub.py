"""Real-data loaders for the unlearning tasks (need the HF hub or a populated HF cache; pin a dataset revision).

- TOFU (`locuslab/TOFU`, Maini et al., 2024): forget = `forgetXX_perturbed` (question, answer, paraphrased_answer,
  perturbed_answer list), utility evaluation = `retain_perturbed` (400 questions; never given to methods), world facts
  and real authors separately (`*_perturbed`; no paraphrase there, so the answer stands in), holdout = `holdoutXX`
  when the revision has it (non-members for MIA). Training sets for the target and the retain reference: `full` and
  `retainYY` (YY = 100 - XX); the retain term of GD / KL / IdkPO trains on `retainYY` minus the evaluation questions
  and minus the tuning protocol's validation slice.
- MUSE (`muse-bench/MUSE-News` / `MUSE-Books`, Shi et al., 2024): KnowMem QA and its few-shot examples (`knowmem`:
  forget_qa / retain_qa / *_icl; question, answer), VerbMem (`verbmem`: forget; prompt, gt), PrivLeak texts
  (`privleak`: forget = members, holdout = non-members; whole texts), and the raw corpora the methods unlearn on
  (`raw`: forget / retain1; text, cut into prefix -> continuation chunks). MUSE releases its target and retrained
  models, so nothing is fine-tuned here.

`rows_to_benchmark` / `muse_rows_to_benchmark` do the mapping from plain row dicts, so they are tested without a
network on rows in the real schema; `_loader` is the only function that touches the hub.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from bench.errors import DataUnavailable

from .data import IDK, QA, Benchmark

TOFU_ID = "locuslab/TOFU"
MUSE_IDS = {"news": "muse-bench/MUSE-News", "books": "muse-bench/MUSE-Books"}
FORGET_SPLITS = ("forget01", "forget05", "forget10")


def _need(row: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise DataUnavailable(f"{where}: rows lack field(s) {missing} (got {sorted(row)}); wrong dataset revision?")


def _tofu_qa(rows: list[dict], where: str, paraphrase: bool = True) -> list[QA]:
    out = []
    for r in rows:
        _need(r, ("question", "answer", "perturbed_answer") + (("paraphrased_answer",) if paraphrase else ()), where)
        pert = r["perturbed_answer"]
        pert = [pert] if isinstance(pert, str) else list(pert)
        out.append(QA(r["question"], r["answer"], r.get("paraphrased_answer") or r["answer"], pert))
    return out


def rows_to_benchmark(forget: list[dict], retain: list[dict], world: list[dict], holdout: list[dict] | None = None,
                      n_perturbed: int | None = None, real_authors: list[dict] | None = None,
                      retain_train: list[dict] | None = None, rng: np.random.Generator | None = None,
                      n_val: int = 40) -> Benchmark:
    """TOFU rows (the `*_perturbed` configs) -> Benchmark. Every QA keeps the same number of perturbed answers (the
    minimum present, or `n_perturbed`), as the truth ratio averages over a fixed set. `retain_train` (retainYY rows)
    minus the utility evaluation questions is split into the tuning protocol's validation slice (`n_val` questions)
    and what methods with the retain_data privilege train on. Every 5th forget question is the validation slice of
    the request."""
    f = _tofu_qa(forget, "forget")
    r = _tofu_qa(retain, "retain")
    w = _tofu_qa(world, "world facts", paraphrase=False)
    ra = _tofu_qa(real_authors or [], "real authors", paraphrase=False)
    h = [QA(x["question"], x["answer"], x["answer"], []) for x in (holdout or [])]
    k = n_perturbed or min(len(q.perturbed) for q in f + r + w + ra)
    if k < 1:
        raise DataUnavailable("TOFU rows: some question has no perturbed answer")
    for q in f + r + w + ra:
        q.perturbed = q.perturbed[:k]
    for q in h:  # holdout questions are only scored for membership, but keep the shape uniform
        q.perturbed = [q.answer] * k
    evaluated = {q.question for q in r}
    pool = [QA(x["question"], x["answer"], x["answer"], []) for x in (retain_train or [])
            if x["question"] not in evaluated]
    if rng is not None and pool:
        pool = [pool[i] for i in rng.permutation(len(pool))]
    n_val = min(n_val, len(pool) // 2)
    return Benchmark(f, r, h, w, list(IDK), real_authors=ra, retain_train=pool[n_val:], retain_val=pool[:n_val],
                     forget_val=[i for i in range(len(f)) if i % 5 == 4])


def _loader(revision: str | None) -> Callable[..., Any]:
    if revision is None:
        raise DataUnavailable("hub datasets: pin a dataset revision (commit sha) with `--set task.revision=...`")

    def load(path: str, name: str, split: str) -> list[dict]:
        from datasets import load_dataset

        try:
            return [dict(x) for x in load_dataset(path, name, split=split, revision=revision)]
        except Exception as e:  # offline, missing config, wrong revision
            raise DataUnavailable(f"{path} [{name}/{split}] @ {revision} could not be loaded (offline? not cached?): "
                                  f"{type(e).__name__}: {e}. Offline, use the synthetic default (task.source=synthetic)."
                                  ) from None
    return load


def load_tofu(split: str, revision: str | None, rng: np.random.Generator | None = None, n_val: int = 40
              ) -> tuple[Benchmark, list[QA], list[QA]]:
    """(benchmark, training pairs of the target (`full`), training pairs of the retain reference (`retainYY`))."""
    if split not in FORGET_SPLITS:
        raise DataUnavailable(f"TOFU split must be one of {FORGET_SPLITS}, got {split!r}")
    load = _loader(revision)
    pct = int(split[-2:])
    forget = load(TOFU_ID, f"{split}_perturbed", "train")
    retain = load(TOFU_ID, "retain_perturbed", "train")
    world = load(TOFU_ID, "world_facts_perturbed", "train")
    authors = load(TOFU_ID, "real_authors_perturbed", "train")
    try:
        holdout = load(TOFU_ID, f"holdout{pct:02d}", "train")
    except DataUnavailable:
        holdout = []
    full = load(TOFU_ID, "full", "train")
    retain_train = load(TOFU_ID, f"retain{100 - pct}", "train")
    b = rows_to_benchmark(forget, retain, world, holdout, real_authors=authors, retain_train=retain_train, rng=rng,
                          n_val=n_val)
    as_qa = lambda rows: [QA(x["question"], x["answer"], x["answer"], []) for x in rows]  # noqa: E731
    return b, as_qa(full), as_qa(retain_train)


def text_chunks(rows: list[dict], where: str, prefix_words: int = 32, words: int = 128,
                max_chunks: int | None = None) -> list[QA]:
    """Raw texts -> (prefix, continuation) pairs of `words` words each, the first `prefix_words` as the prompt."""
    out = []
    for r in rows:
        _need(r, ("text",), where)
        w = r["text"].split()
        for s in range(0, max(1, len(w) - prefix_words), words):
            piece = w[s: s + words]
            if len(piece) > prefix_words:
                out.append(QA(" ".join(piece[:prefix_words]), " ".join(piece[prefix_words:]), "", []))
    return out[:max_chunks] if max_chunks else out


def muse_rows_to_benchmark(forget_qa: list[dict], retain_qa: list[dict], verbmem: list[dict], members: list[dict],
                           nonmembers: list[dict], icl_forget: list[dict] | None = None,
                           icl_retain: list[dict] | None = None) -> Benchmark:
    """MUSE rows -> Benchmark: KnowMem QA (with MUSE's few-shot examples), VerbMem (prompt, gt) pairs, and the
    PrivLeak texts as whole documents (MUSE scores every token of each text)."""
    def qa(rows, where):
        for r in rows:
            _need(r, ("question", "answer"), where)
        return [QA(r["question"], r["answer"], r["answer"], [r["answer"]]) for r in rows]

    for r in verbmem:
        _need(r, ("prompt", "gt"), "verbmem")
    for r in members + nonmembers:
        _need(r, ("text",), "privleak")
    mem = [r["text"] for r in members if r["text"].strip()]
    non = [r["text"] for r in nonmembers if r["text"].strip()]
    if not mem or not non:
        raise DataUnavailable("MUSE privleak: no member or no non-member text for the MIA")
    icl = lambda rows, where: [(q.question, q.answer) for q in qa(rows or [], where)]  # noqa: E731
    return Benchmark(qa(forget_qa, "knowmem forget_qa"), qa(retain_qa, "knowmem retain_qa"), [], [], list(IDK),
                     verbmem=[(r["prompt"], r["gt"]) for r in verbmem], members=mem, nonmembers=non,
                     icl_forget=icl(icl_forget, "knowmem forget_qa_icl"),
                     icl_retain=icl(icl_retain, "knowmem retain_qa_icl"))


def load_muse(corpus: str, revision: str | None, max_chunks: int | None = None
              ) -> tuple[Benchmark, list[QA], list[QA]]:
    """(benchmark, forget-corpus chunks the methods unlearn, retain-corpus chunks for the retain terms)."""
    if corpus not in MUSE_IDS:
        raise DataUnavailable(f"MUSE corpus must be one of {sorted(MUSE_IDS)}, got {corpus!r}")
    load = _loader(revision)
    path = MUSE_IDS[corpus]

    def optional(name, split):
        try:
            return load(path, name, split)
        except DataUnavailable:  # MUSE-Books has no KnowMem files
            return []

    b = muse_rows_to_benchmark(optional("knowmem", "forget_qa"), optional("knowmem", "retain_qa"),
                               load(path, "verbmem", "forget"), load(path, "privleak", "forget"),
                               load(path, "privleak", "holdout"), optional("knowmem", "forget_qa_icl"),
                               optional("knowmem", "retain_qa_icl"))
    return (b, text_chunks(load(path, "raw", "forget"), "raw forget", max_chunks=max_chunks),
            text_chunks(load(path, "raw", "retain1"), "raw retain1", max_chunks=max_chunks))
