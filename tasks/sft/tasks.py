"""SFT selection tasks: a method returns a `Selection` (tasks/sft/contract.py); the harness trains a copy of the base
model with it (same optimiser, steps and batch size for every method, on the one loop `bench.lm.loop.optimize`) and
evaluates downstream on held-out prompts."""
from __future__ import annotations

import copy

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, NONPOSITIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig
from bench.contract import ContractError, contract_for
from bench.lm import TrainConfig, collate, encode_sft, merged, prepare_for_finetuning, token_nll, train_sft
from tasks.common import sorting as toy

from .contract import Selection, SFTView, TrainBudget
from .env import SFTData, build

__all__ = ["Selection", "SFTView", "SFTConfig", "TokenSelection", "SampleSelection", "downstream"]


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


def _params_checksum(model) -> float:
    import torch

    with torch.no_grad():
        return float(sum(p.detach().double().sum() for p in model.parameters() if p.requires_grad))


class _SFTTask(Task):
    """The harness side of both SFT families: the method's view, output validation, training on the selection."""

    dataset = DatasetRef("generated: tasks/sft/env.py",
                         offline_default="sorting instructions with filler tokens and corrupted answers (real pairs: "
                                         "the sft-*-gsm8k tasks; hub models via bench.lm)")
    metrics = (Metric("exact_match", "max", range=PROPORTION), Metric("answer_loglik", "max", range=NONPOSITIVE),
               Metric("trained_tokens", "min", range=NONNEGATIVE))
    primary_metric = "exact_match"
    config_cls = SFTConfig
    default_seeds = 5
    full_suite_seeds = 2
    threads = 1  # torch intra-op threads for this task's tiny models (more only adds contention)

    def load(self, cfg: SFTConfig, ctx: Context) -> SFTData:
        import torch

        torch.set_num_threads(self.threads)
        data = build(ctx.data_rng, cfg.n_train, cfg.n_seed, cfg.n_eval, cfg.filler_prob, cfg.bad_prob,
                     ctx.data_seed % (2**31))
        data.budget = TrainBudget(cfg.steps, cfg.batch_size, cfg.lr)
        return data

    # -- contract -------------------------------------------------------------------------------------------------
    def view(self, data: SFTData, privileges: frozenset[str], ctx: Context) -> SFTView:
        base = copy.deepcopy(data.base)
        judge = data.judge
        if judge is not None and judge[0] is data.base:  # the judge is the base itself: the method's own copy
            judge = (base, judge[1])
        return SFTView(tokenizer=data.tokenizer, base=base, examples=list(data.examples),
                       texts=list(data.texts), seed_examples=list(data.seed_examples), seed_texts=list(data.seed_texts),
                       budget=data.budget, spec=data.spec,
                       max_length=data.max_length, response_tokens=data.response_tokens, trunk=data.trunk,
                       cache_dir=ctx.cache_dir, judge=judge)

    def check_output(self, output, data: SFTData, ctx: Context) -> Selection:
        return contract_for(self.family).check_output(output, n=len(data.examples),
                                                      lengths=[len(e["input_ids"]) for e in data.examples])

    def execute(self, method, data: SFTData, method_cfg, cfg: SFTConfig, ctx: Context):
        sel = self.check_output(method.fn(self.view(data, method.privileges, ctx), method_cfg, ctx), data, ctx)
        return self.train_on(data, sel, cfg, ctx)

    # -- training on a selection ------------------------------------------------------------------------------------
    def train_on(self, data: SFTData, sel: Selection, cfg, ctx: Context):
        n = len(data.examples)
        examples = list(data.examples)
        if sel.responses:
            for i, r in sel.responses.items():
                examples[int(i)] = encode_sft(data.tokenizer, data.texts[int(i)][0], r, max_length=data.max_length,
                                              name=f"repaired response of pool example {int(i)}")
            ctx.add_artifact("rewritten", len(sel.responses))
            if data.is_ideal is not None:  # hidden truth: is each repaired response an ideal one?
                ctx.add_artifact("rewrites_correct",
                                 float(np.mean([data.is_ideal(int(i), r) for i, r in sel.responses.items()])))
        labelled = [np.asarray(e["labels"]) != -100 for e in examples]
        weights = [np.ones(len(e["input_ids"]), dtype=np.float32) for e in examples]
        if sel.token_weights is not None:
            weights = [np.asarray(w, dtype=np.float32) for w in sel.token_weights]
        if sel.sample_weights is not None:
            sw = np.asarray(sel.sample_weights, dtype=np.float32)
            weights = [w * s for w, s in zip(weights, sw)]
        keep = [i for i in range(n) if float(np.sum(weights[i][labelled[i]])) > 0]
        if not keep:
            raise ContractError("the selection keeps no response token")
        pos = {i: k for k, i in enumerate(keep)}
        order = None
        if sel.order is not None:
            order = np.array([pos[int(i)] for i in sel.order if int(i) in pos], dtype=np.int64)
            if len(order) == 0:
                raise ContractError("order lists no example the selection keeps")
        fn = None
        if sel.token_weight_fn is not None:
            keep_arr = np.asarray(keep)

            def fn(view):
                before = _params_checksum(view.model)
                view.indices = keep_arr[view.indices]  # pool indices for the method's plug-in
                out = sel.token_weight_fn(view)
                if _params_checksum(view.model) != before:
                    raise ContractError("token_weight_fn changed the weights of the model being trained")
                return out

        import torch

        # common random numbers: every method's model starts from the same adapter init and draws its batches from
        # the same generator (the data seed), so paired differences reflect the selections
        torch.manual_seed(ctx.data_seed)
        model = copy.deepcopy(data.base)
        if data.spec is not None:
            model = prepare_for_finetuning(model, data.spec)
        out = train_sft(model, [examples[i] for i in keep], data.tokenizer.pad_token_id,
                        TrainConfig(lr=cfg.lr, batch_size=cfg.batch_size, max_steps=cfg.steps),
                        np.random.default_rng(ctx.data_seed),
                        token_weights=[weights[i] for i in keep], log=ctx.log, order=order, token_weight_fn=fn,
                        trunk=data.trunk, device=ctx.device)
        model = merged(model)
        model.eval()
        static = sum(float(((weights[i] > 0) & labelled[i]).sum()) for i in keep)
        pool = sum(float((np.asarray(e["labels"]) != -100).sum()) for e in data.examples)
        ctx.add_artifact("kept_samples", len(keep))
        ctx.add_artifact("train_loss_last", float(out["final_loss"]))
        if data.is_bad is not None:
            fixed = set(map(int, sel.responses or {}))
            ctx.add_artifact("bad_fraction_kept", float(np.mean([data.is_bad[i] and i not in fixed for i in keep])))
        ratio = 1.0
        if fn is not None:  # the fraction of the statically kept tokens the per-batch rule let through
            ratio = out["tokens"] / max(1, out["static_tokens"])
            ctx.add_artifact("dynamic_keep_ratio", ratio)
        return model, static / max(1.0, pool) * ratio

    def evaluate(self, data: SFTData, output, cfg, ctx):
        model, frac = output
        scores, named = downstream(model, data.tokenizer, data.eval_lists, cfg.lm_eval_tasks)
        if named:
            ctx.add_artifact("lm_eval", named)
        return {**scores, "trained_tokens": frac}

    def smoke_params(self):
        return {"n_train": 32, "n_seed": 8, "n_eval": 4, "steps": 3}


class TokenSelection(_SFTTask):
    family = "sft.token_selection"
    version = "3"  # v3: methods see the contract's SFTView; Rho-1 per batch; self-evolving chain as the authors'
    description = "Token-level selection: which response tokens get the SFT loss."


class SampleSelection(_SFTTask):
    family = "sft.sample_selection"
    version = "3"  # v3: contract view; DS2 with score curation; ENTP without the grounding (oracle) prior
    description = "Sample-level selection under a budget: which SFT samples get trained on."


register_task(TokenSelection("sft-token-sort"))
register_task(SampleSelection("sft-sample-sort"))
