"""Real-data loaders for the unlearning tasks (need the HF hub or a populated HF cache; pin a dataset revision).

- TOFU (`locuslab/TOFU`, Maini et al., 2024): forget = `forgetXX_perturbed` (question, answer, paraphrased_answer,
  perturbed_answer list), retain = `retain_perturbed` (the 400-question evaluation subset, also used as the retain
  term of GD/KL/IdkPO), holdout = `holdoutXX` when the revision has it (non-members for MIA), world = world facts and
  real authors (`*_perturbed`; no paraphrase there, so the answer stands in). Training sets for the target and the
  retain reference: `full` and `retainYY` (YY = 100 - XX), question/answer pairs.
- MUSE (`muse-bench/MUSE-News` / `MUSE-Books`, Shi et al., 2024): KnowMem QA (`knowmem`: forget_qa / retain_qa;
  question, answer), VerbMem (`verbmem`: forget; prompt, gt), PrivLeak texts (`privleak`: forget = members, holdout =
  non-members; text), and the raw corpora the methods unlearn on (`raw`: forget / retain1; text, cut into
  prefix -> continuation chunks). MUSE releases its target and retrained models, so nothing is fine-tuned here.

`rows_to_benchmark` / `muse_rows_to_benchmark` do the mapping from plain row dicts, so they are tested without a
network on rows in the real schema; `_loader` is the only function that touches the hub.
"""
from __future__ import annotations

from typing import Any, Callable

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
                      n_perturbed: int | None = None) -> Benchmark:
    """TOFU rows (the `*_perturbed` configs) -> Benchmark. Every QA keeps the same number of perturbed answers (the
    minimum present, or `n_perturbed`), as the truth ratio averages over a fixed set."""
    f = _tofu_qa(forget, "forget")
    r = _tofu_qa(retain, "retain")
    w = _tofu_qa(world, "world facts / real authors", paraphrase=False)
    h = [QA(x["question"], x["answer"], x["answer"], []) for x in (holdout or [])]
    k = n_perturbed or min(len(q.perturbed) for q in f + r + w)
    if k < 1:
        raise DataUnavailable("TOFU rows: some question has no perturbed answer")
    for q in f + r + w:
        q.perturbed = q.perturbed[:k]
    for q in h:  # holdout questions are only scored for membership, but keep the shape uniform
        q.perturbed = [q.answer] * k
    return Benchmark(f, r, h, w, list(IDK))


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


def load_tofu(split: str, revision: str | None) -> tuple[Benchmark, list[dict], list[dict]]:
    """(benchmark, training rows of the target, training rows of the retain reference)."""
    if split not in FORGET_SPLITS:
        raise DataUnavailable(f"TOFU split must be one of {FORGET_SPLITS}, got {split!r}")
    load = _loader(revision)
    pct = int(split[-2:])
    forget = load(TOFU_ID, f"{split}_perturbed", "train")
    retain = load(TOFU_ID, "retain_perturbed", "train")
    world = load(TOFU_ID, "world_facts_perturbed", "train") + load(TOFU_ID, "real_authors_perturbed", "train")
    try:
        holdout = load(TOFU_ID, f"holdout{pct:02d}", "train")
    except DataUnavailable:
        holdout = []
    full = load(TOFU_ID, "full", "train")
    retain_train = load(TOFU_ID, f"retain{100 - pct}", "train")
    return rows_to_benchmark(forget, retain, world, holdout), full, retain_train


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
                           nonmembers: list[dict]) -> Benchmark:
    def qa(rows, where):
        for r in rows:
            _need(r, ("question", "answer"), where)
        return [QA(r["question"], r["answer"], r["answer"], [r["answer"]]) for r in rows]

    for r in verbmem:
        _need(r, ("prompt", "gt"), "verbmem")
    mem = text_chunks(members, "privleak forget", 16, 64)
    non = text_chunks(nonmembers, "privleak holdout", 16, 64)
    if not mem or not non:
        raise DataUnavailable("MUSE privleak: no member or non-member text long enough for the MIA")
    return Benchmark(qa(forget_qa, "knowmem forget_qa"), qa(retain_qa, "knowmem retain_qa"), non, [], list(IDK),
                     verbmem=[(r["prompt"], r["gt"]) for r in verbmem], members=mem)


def load_muse(corpus: str, revision: str | None, max_chunks: int | None = None
              ) -> tuple[Benchmark, list[QA], list[QA]]:
    """(benchmark, forget-corpus chunks the methods unlearn, retain-corpus chunks for the retain terms)."""
    if corpus not in MUSE_IDS:
        raise DataUnavailable(f"MUSE corpus must be one of {sorted(MUSE_IDS)}, got {corpus!r}")
    load = _loader(revision)
    path = MUSE_IDS[corpus]
    b = muse_rows_to_benchmark(load(path, "knowmem", "forget_qa"), load(path, "knowmem", "retain_qa"),
                               load(path, "verbmem", "forget"), load(path, "privleak", "forget"),
                               load(path, "privleak", "holdout"))
    return (b, text_chunks(load(path, "raw", "forget"), "raw forget", max_chunks=max_chunks),
            text_chunks(load(path, "raw", "retain1"), "raw retain1", max_chunks=max_chunks))
