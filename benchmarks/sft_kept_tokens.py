"""Which response tokens the token selectors keep, by token type: fixed-reference token cleaning vs the self-evolving
chain (the diagnostic behind docs/sft.md's "why the chain collapses").

Runs each method's cell through the harness (`run_cell`, records to a temporary folder) and records every scoring
pass: the examples a pass scored, the 0/1 weights it gave their tokens, and the two losses whose difference was the
score (fixed reference: base -> reference model; chain: M_{k-2} -> M_{k-1}), printed as mean loss per token type.
Token types come from the task's own construction, which the methods never see:
- `sft-token-sort`: the numbers, the filler words (" um", " well", " ok", " so") and EOS;
- `sft-token-gsm8k-smollm2` (the pretrained tier): the injected boilerplate sentences, the final "#### N" line, the
  rest of the solution and EOS.

    python benchmarks/sft_kept_tokens.py                                   # sft-token-sort, seed index 0
    python benchmarks/sft_kept_tokens.py --task sft-token-gsm8k-smollm2 --seed-index 1
    python benchmarks/sft_kept_tokens.py --smoke                           # the smoke sizes (seconds; the test)
    python benchmarks/sft_kept_tokens.py --task sft-token-gsm8k-smollm2 --method token_cleaning_self_evolving \
        --force 'final line=1' --force-in all          # ablation: the chain keeping every final-line token
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

METHODS = ("token_cleaning", "token_cleaning_self_evolving")


def _marked(tok, ids: list[int], positions: np.ndarray, phrases, tail: str | None):
    """Each response token's piece of text (decoded one by one) and whether its characters overlap one of `phrases`
    (mark 1) or the text from the last `tail` on (mark 2)."""
    pieces = [tok.decode([ids[t]]) for t in positions]
    text = "".join(pieces)
    marks = np.zeros(len(text) + 1, dtype=np.int8)
    for ph in phrases:
        i = text.find(ph)
        while i >= 0:
            marks[i: i + len(ph)] = 1
            i = text.find(ph, i + 1)
    if tail is not None and text.rfind(tail) >= 0:
        marks[text.rfind(tail):] = 2
    out, at = [], 0
    for p in pieces:
        out.append(int(marks[at: at + max(1, len(p))].max()))
        at += len(p)
    return pieces, out


def sort_types(tok, ids: list[int], positions: np.ndarray) -> list[str]:
    """Sorting task: the numbers, the filler words (this corpus BPE spells them as a space and letters) and EOS."""
    from tasks.sft.env import FILLERS

    pieces, marks = _marked(tok, ids, positions, FILLERS, None)
    return ["eos" if ids[t] == tok.eos_token_id else "filler" if m == 1 else
            "number" if p.strip().isdigit() else "other" for t, p, m in zip(positions, pieces, marks)]


def gsm8k_types(tok, ids: list[int], positions: np.ndarray) -> list[str]:
    """GSM8K tasks: the injected boilerplate sentences, the final '####' line, the rest of the solution, EOS."""
    from tasks.sft.gsm8k import BOILERPLATE

    pieces, marks = _marked(tok, ids, positions, [b.strip() for b in BOILERPLATE], "####")
    return ["eos" if ids[t] == tok.eos_token_id else ("solution", "boilerplate", "final line")[m]
            for t, m in zip(positions, marks)]


# the tasks the script types, with their typing function and the types it returns (what --force may name)
TYPES = {"sft-token-sort": (sort_types, ("number", "filler", "other", "eos")),
         "sft-token-gsm8k-smollm2": (gsm8k_types, ("solution", "boilerplate", "final line", "eos"))}
TASKS = tuple(TYPES)


class Spy:
    """Records every global-threshold selection the two methods make: the examples scored, the two per-token losses
    whose difference is the score (fixed reference: base, then reference model; chain: M_{k-2}, then M_{k-1}) and
    the 0/1 weights."""

    def __init__(self, force: dict[str, float] | None = None, force_in: tuple[int, ...] = (), tok=None,
                 types_fn=None):
        """`force` (an ablation with the hidden token types, never a method): in the chain's subsets numbered
        `force_in` (1 = the first after the warm-up), every token of a named type gets the given weight."""
        import baselines.sft.token_cleaning as tc
        import baselines.sft.token_cleaning_self_evolving as se

        self.passes: list[tuple[list[dict], list[list[np.ndarray]], list[np.ndarray]]] = []
        self._examples: list[dict] = []
        self._losses: list[list[np.ndarray]] = []
        self._saved = [(tc, "global_top", tc.global_top), (tc, "base_losses", tc.base_losses),
                       (tc, "reference_losses", tc.reference_losses), (se, "global_top", se.global_top),
                       (se, "_losses", se._losses)]
        top, base, ref, chain = tc.global_top, tc.base_losses, tc.reference_losses, se._losses

        def recorder(chain_order: bool):
            def global_top(scores, masks, ratio):
                w = top(scores, masks, ratio)
                if chain_order and force and len(self.passes) + 1 in force_in:
                    for e, wi in zip(self._examples, w):
                        pos = np.nonzero(np.asarray(e["labels"]) != -100)[0]
                        for t, typ in zip(pos, types_fn(tok, e["input_ids"], pos)):
                            wi[t] = force.get(typ, wi[t])
                # the chain scores with the current model first, then the older one: report old, then new
                self.passes.append((self._examples, self._losses[::-1] if chain_order else self._losses, w))
                self._losses = []
                return w
            return global_top

        def keep(examples, out):
            self._examples = examples
            self._losses.append(out)
            return out

        tc.global_top, se.global_top = recorder(False), recorder(True)
        tc.base_losses = lambda data, examples=None: keep(data.examples if examples is None else examples,
                                                          base(data, examples))
        tc.reference_losses = lambda data, r, examples=None: keep(data.examples if examples is None else examples,
                                                                  ref(data, r, examples))
        se._losses = lambda model, examples, *a, **k: keep(examples, chain(model, examples, *a, **k))

    def close(self):
        for m, name, f in self._saved:
            setattr(m, name, f)


def kept_by_type(tok, passes, types_fn) -> list[dict[str, tuple[float, int, float, float]]]:
    """Per scoring pass: {token type: (share of its response tokens kept, count, mean loss under the older / base
    model, mean loss under the newer / reference model)}."""
    out = []
    for examples, (old, new), weights in passes:
        n, k, lo, ln = Counter(), Counter(), Counter(), Counter()
        for e, w, a, b in zip(examples, weights, old, new):
            pos = np.nonzero(np.asarray(e["labels"]) != -100)[0]
            for t, typ in zip(pos, types_fn(tok, e["input_ids"], pos)):
                n[typ] += 1
                k[typ] += float(w[t])
                lo[typ] += float(a[t])
                ln[typ] += float(b[t])
        out.append({typ: (k[typ] / n[typ], n[typ], lo[typ] / n[typ], ln[typ] / n[typ]) for typ in sorted(n)})
    return out


def run(task: str, seed_index: int, smoke: bool, methods=METHODS, force: dict[str, float] | None = None,
        force_in: str = "last") -> dict[str, dict]:
    from bench.records import read_record
    from bench.registry import discover
    from bench.runner import Cell, run_cell

    discover()
    if task not in TYPES:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    types_fn, known = TYPES[task]
    bad = {k: v for k, v in (force or {}).items() if k not in known or v not in (0.0, 1.0)}
    if bad:
        raise ValueError(f"--force takes TYPE=0 or TYPE=1 with TYPE one of {known} on {task}, got {bad}")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in methods:
            cell = Cell(task, m, seed_index, smoke=smoke)
            tok = _tokenizer(cell)
            subsets = ()
            if force and m == "token_cleaning_self_evolving":
                n = cell.resolve()[3].chunks - 1  # the scored subsets after the warm-up
                subsets = (n,) if force_in == "last" else tuple(range(1, n + 1))
            spy = Spy(force, subsets, tok, types_fn)
            try:
                _, path = run_cell(cell, Path(tmp))
            finally:
                spy.close()
            r = read_record(path)
            if r.status == "failed":
                raise SystemExit(f"{task}/{m}: {r.error}")
            out[m] = {"metrics": {k: v.value for k, v in r.metrics.items()},
                      "passes": kept_by_type(tok, spy.passes, types_fn)}
    return out


def _tokenizer(cell):
    """The tokenizer the cell's examples were encoded with (the sorting corpus BPE, or the paper task's model's)."""
    if cell.task == "sft-token-sort":
        from tasks.common import sorting

        return sorting.corpus_tokenizer()
    from tasks.sft.paper import load_model

    cfg = cell.resolve()[2]
    return load_model(cfg.model, cell.seed_index, None)[1]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="sft-token-sort", choices=TASKS)
    ap.add_argument("--seed-index", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="the task's smoke sizes")
    ap.add_argument("--method", action="append", choices=METHODS, help="only these (repeatable; default: both)")
    ap.add_argument("--force", action="append", default=[], metavar="TYPE=WEIGHT",
                    help="ablation of the chain: every token of TYPE gets WEIGHT (0 or 1) in the subsets --force-in "
                         "names, e.g. --force 'final line=1' (repeatable)")
    ap.add_argument("--force-in", choices=("last", "all"), default="last")
    a = ap.parse_args(argv)
    force = {k.strip(): float(v) for k, v in (f.rsplit("=", 1) for f in a.force)}
    res = run(a.task, a.seed_index, a.smoke, tuple(a.method or METHODS), force or None, a.force_in)
    for m, r in res.items():
        print(f"{m}: " + ", ".join(f"{k} {v:.3f}" for k, v in r["metrics"].items() if v is not None))
        for i, p in enumerate(r["passes"]):
            label = "the whole pool" if len(r["passes"]) == 1 else f"subset {i + 1}"
            print(f"  {label}: " + "; ".join(f"{typ} {s:.0%} kept of {n} (loss {a:.2f} -> {b:.2f})"
                                             for typ, (s, n, a, b) in p.items()))


if __name__ == "__main__":
    main()
