"""SFT selection tasks: a method returns token weights or sample weights; the harness trains a copy of the base model
with them (same optimiser, same number of steps for every method) and evaluates downstream on held-out prompts."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, NONPOSITIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig
from bench.lm import TrainConfig, collate, encode_sft, token_nll, train_sft
from tasks.common import sorting as toy

from .env import SFTData, build


@dataclass
class Selection:
    token_weights: list[np.ndarray] | None = None  # per example, aligned with input_ids (prompt positions ignored)
    sample_weights: np.ndarray | None = None  # per example, >= 0
    responses: dict[int, str] | None = None  # repaired responses by example index (data repair, e.g. ENTP rewrite)


class SFTConfig(StrictConfig):
    n_train: int = 600
    n_seed: int = 60
    n_eval: int = 100
    filler_prob: float = 0.5
    bad_prob: float = 0.3
    steps: int = 120
    batch_size: int = 16
    lr: float = 3e-3
    lm_eval_tasks: list[str] = []  # extra lm-eval tasks by name (e.g. "gsm8k", "arc_easy"; need their data) -> artifact


def downstream(model, tok, eval_lists, named: list[str] | tuple[str, ...] = ()) -> tuple[dict[str, float], dict]:
    """Exact match of the greedy answer through lm-eval (a local generate_until task on the held-out prompts) and the
    ideal answer's mean per-token log-likelihood; plus any named lm-eval tasks (returned separately, not ranked)."""
    import torch

    from bench.lm.lm_eval_local import LocalTask, evaluate

    prompts = [toy.make_prompt(xs) for xs in eval_lists]
    docs = [{"question": p, "answer": toy.ideal(xs)} for p, xs in zip(prompts, eval_lists)]
    res = evaluate(model, tok, [LocalTask("dcai_sft_sort_heldout", "generate_until", docs, max_gen_toks=16),
                                *named])
    ex = [encode_sft(tok, p, toy.ideal(xs), max_length=64) for p, xs in zip(prompts, eval_lists)]
    with torch.no_grad():
        nll, mask = token_nll(model, collate(ex, tok.pad_token_id))
    scores = {"exact_match": float(res.pop("dcai_sft_sort_heldout")["exact_match"]),
              "answer_loglik": float(-(nll.sum() / mask.sum()))}
    return scores, res


class _SFTTask(Task):
    dataset = DatasetRef("generated: tasks/sft/env.py",
                         offline_default="sorting instructions with filler tokens and corrupted answers (real pairs: "
                                         "the sft-*-gsm8k tasks; hub models via bench.lm)")
    metrics = (Metric("exact_match", "max", range=PROPORTION), Metric("answer_loglik", "max", range=NONPOSITIVE), Metric("trained_tokens", "min", range=NONNEGATIVE))
    primary_metric = "exact_match"
    config_cls = SFTConfig

    def load(self, cfg: SFTConfig, ctx: Context) -> SFTData:
        import torch

        torch.set_num_threads(2)
        return build(ctx.data_rng, cfg.n_train, cfg.n_seed, cfg.n_eval, cfg.filler_prob, cfg.bad_prob,
                     ctx.data_seed % (2**31))

    def execute(self, method, data: SFTData, method_cfg, cfg: SFTConfig, ctx: Context):
        view = copy.copy(data)
        view.is_bad = view.has_filler = view.is_ideal = None  # hidden from methods
        view.eval_lists, view.eval_pairs = [], []
        view.base = copy.deepcopy(data.base)
        sel: Selection = method.fn(view, method_cfg, ctx)
        n = len(data.examples)
        examples = list(data.examples)
        if sel.responses:
            for i, r in sel.responses.items():
                if not (isinstance(i, (int, np.integer)) and 0 <= i < n) or not isinstance(r, str):
                    raise ValueError(f"responses: keys must be example indices in [0, {n}) and values strings, "
                                     f"got {i!r}: {type(r).__name__}")
                examples[int(i)] = encode_sft(data.tokenizer, data.texts[int(i)][0], r, max_length=data.max_length)
            ctx.add_artifact("rewritten", len(sel.responses))
            if data.is_ideal is not None:  # hidden truth: is each repaired response an ideal one?
                ctx.add_artifact("rewrites_correct",
                                 float(np.mean([data.is_ideal(int(i), r) for i, r in sel.responses.items()])))
        weights = [np.ones(len(e["input_ids"]), dtype=np.float32) for e in examples]
        if sel.token_weights is not None:
            if len(sel.token_weights) != n:
                raise ValueError(f"token_weights: expected {n} arrays, got {len(sel.token_weights)}")
            weights = [np.asarray(w, dtype=np.float32) for w in sel.token_weights]
        if sel.sample_weights is not None:
            sw = np.asarray(sel.sample_weights, dtype=np.float32)
            if sw.shape != (n,) or (sw < 0).any():
                raise ValueError(f"sample_weights must be {n} non-negative numbers")
            weights = [w * s for w, s in zip(weights, sw)]
        keep = [i for i in range(n) if float(np.sum(weights[i])) > 0]
        if not keep:
            raise ValueError("the selection keeps no training token")
        model = copy.deepcopy(data.base)
        train_sft(model, [examples[i] for i in keep], data.tokenizer.pad_token_id,
                  TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_steps=cfg.steps), ctx.rng,
                  token_weights=[weights[i] for i in keep], log=ctx.log)
        labelled = [np.asarray(e["labels"]) != -100 for e in examples]
        trained = sum(float(((weights[i] > 0) & labelled[i]).sum()) for i in keep)
        ctx.add_artifact("kept_samples", len(keep))
        if data.is_bad is not None:
            fixed = set(map(int, sel.responses or {}))
            ctx.add_artifact("bad_fraction_kept", float(np.mean([data.is_bad[i] and i not in fixed for i in keep])))
        pool = sum(float((np.asarray(e["labels"]) != -100).sum()) for e in data.examples)
        return model, trained / max(1.0, pool)

    def evaluate(self, data: SFTData, output, cfg, ctx):
        model, frac = output
        scores, named = downstream(model, data.tokenizer, data.eval_lists, cfg.lm_eval_tasks)
        if named:
            ctx.add_artifact("lm_eval", named)
        return {**scores, "trained_tokens": frac}

    def smoke_params(self):
        return {"n_train": 80, "n_seed": 16, "n_eval": 16, "steps": 10}


class TokenSelection(_SFTTask):
    family = "sft.token_selection"
    version = "2"  # v2: exact match scored by lm-eval (strict string match; v1 parsed the leading numbers)
    description = "Token-level selection: which response tokens get the SFT loss."


class SampleSelection(_SFTTask):
    family = "sft.sample_selection"
    version = "2"  # v2: exact match by lm-eval; data-repair methods (responses) allowed
    description = "Sample-level selection under a budget: which SFT samples get trained on."


register_task(TokenSelection("sft-token-sort"))
register_task(SampleSelection("sft-sample-sort"))
