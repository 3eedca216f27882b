"""Unlearning tasks on the TOFU-shaped synthetic benchmark: TOFU metrics and MUSE metrics (v3).

The family base task owns the method contract (`view`, `check_output`) and the tuning protocol (`execute` runs the
grid of `tuning.py` for every method with `lr` / `steps`). TOFU and MUSE synthetic tasks share one generated world and
its target / retain models per seed index (built once, cached), and differ in their metrics.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.seeding import data_seed

from . import lm
from . import metrics as M
from .contract import CONTRACT, UnlearnedModel, UnlearnView
from .data import Benchmark, generate
from .models import PROMPT, finetune, tokenizer_for
from .tuning import TuningConfig, run_tuned, tunable

WORLD_SEED_NAME = "unlearn-synth-authors"  # TOFU and MUSE synthetic tasks share this world per seed index


@dataclass
class UnlearnData:
    """Everything a task holds for one seed (the method sees only its `UnlearnView`)."""

    model: Any  # the target model (fine-tuned on everything)
    tokenizer: Any
    forget: list  # the unlearning request (QA pairs; on MUSE hub, raw text chunks)
    templates: list[str]  # template / IDK answers
    retain_train: list  # the retain_data privilege
    prompt: str = PROMPT
    bench: Benchmark | None = field(repr=False, default=None)
    retain_model: Any = field(repr=False, default=None)
    ref_stats: dict = field(repr=False, default_factory=dict)
    val_forget: list[tuple[str, str]] = field(default_factory=list)  # tuning: (prompt, answer) pairs
    val_utility: list[tuple[str, str]] = field(default_factory=list)
    spec: Any = None  # bench.lm.ModelSpec: how the method's copy is made trainable (LoRA or full)
    max_length: int = 64
    extra: dict = field(default_factory=dict)

    def fingerprint(self) -> dict:
        b = self.bench
        qa = [(q.question, q.answer, q.paraphrase, q.perturbed) for q in
              (b.forget + b.retain_train + b.retain_val + b.retain + b.holdout + b.world + b.real_authors)] if b else []
        return {"qa": qa, "forget": [(q.question, q.answer) for q in self.forget], "target": self.model,
                "retain_model": self.retain_model}


def pairs(qas, prompt: str, which: str = "answer") -> list[tuple[str, str]]:
    return [(prompt.format(q=q.question), " " + getattr(q, which)) for q in qas]


def generate_answers(model, tok, prompts: list[str], max_new_tokens: int, stop: tuple[str, ...] = ("\n",),
                     batch_size: int = 32) -> list[str]:
    """Greedy completions (batched, left padding, on the model's device) cut at the first stop string."""
    import torch

    dev = next(model.parameters()).device
    was, side = model.training, tok.padding_side
    model.eval()
    tok.padding_side = "left"
    out: list[str] = []
    try:
        for s in range(0, len(prompts), batch_size):
            enc = tok(prompts[s: s + batch_size], return_tensors="pt", padding=True, add_special_tokens=False).to(dev)
            with torch.no_grad():
                ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            out += tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    finally:
        tok.padding_side = side
        model.train(was)
    cut = []
    for o in out:
        for st in stop:
            o = o.split(st)[0]
        cut.append(o.strip())
    return cut


def qa_stats(model, tok, qas, prompt: str, max_new_tokens: int = 24, generate: bool = True) -> dict:
    """Per question: answer / paraphrase / perturbed mean NLLs, truth ratio, answer token log-probs and (optionally)
    the greedy answer's ROUGE-L recall (stemmed, TOFU) and F1 (MUSE KnowMem)."""
    return multi_qa_stats(model, tok, {"x": qas}, prompt, max_new_tokens, generate)["x"]


def multi_qa_stats(model, tok, sets: dict[str, list], prompt: str, max_new_tokens: int = 24,
                   generate: bool = True) -> dict[str, dict]:
    """`qa_stats` for several QA sets with one batched likelihood pass and one batched generation."""
    sets = {k: v for k, v in sets.items() if v}
    allp: list[tuple[str, str]] = []
    spans = {}
    for name, qas in sets.items():
        k = len(qas[0].perturbed)
        start = len(allp)
        allp += pairs(qas, prompt) + pairs(qas, prompt, "paraphrase") + [
            (prompt.format(q=q.question), " " + p) for q in qas for p in q.perturbed]
        spans[name] = (start, len(qas), k)
    nll, lps = lm.answer_stats(model, tok, allp, batch_size=64)
    gens_all = []
    if generate:
        prompts = [prompt.format(q=q.question) for qas in sets.values() for q in qas]
        gens_all = generate_answers(model, tok, prompts, max_new_tokens, batch_size=128)
    out, g = {}, 0
    for name, qas in sets.items():
        s, n, k = spans[name]
        d = {"ans_nll": nll[s: s + n], "para_nll": nll[s + n: s + 2 * n],
             "pert_nll": nll[s + 2 * n: s + 2 * n + n * k].reshape(n, k), "lps": lps[s: s + n]}
        d["tr"] = M.truth_ratio(d["para_nll"], d["pert_nll"])
        if generate:
            gens, g = gens_all[g: g + n], g + n
            d["gen"] = gens
            d["rouge_recall"] = np.array([M.rouge_l(x, q.answer, stem=True)["recall"] for x, q in zip(gens, qas)])
            d["rouge_f"] = np.array([M.rouge_l(x, q.answer)["f"] for x, q in zip(gens, qas)])
        out[name] = d
    return out


def tofu_utility_terms(s: dict) -> dict[str, float]:
    """TOFU's 9 model-utility terms (retain, real authors, world facts x probability, ROUGE-L recall, truth ratio)."""
    terms = {}
    for name in ("retain", "real_authors", "world_facts"):
        d = s[name]
        prob = (float(np.mean(np.exp(-d["ans_nll"]))) if name == "retain"
                else M.normalised_prob(d["ans_nll"], d["pert_nll"]))
        terms[f"prob {name}"] = prob
        terms[f"rougeL_recall {name}"] = float(d["rouge_recall"].mean())
        terms[f"truth_ratio {name}"] = M.retain_truth_ratio(d["tr"])
    return terms


def verbmem_pairs(qas) -> list[tuple[str, str, str]]:
    """VerbMem on QA answers: (question, first half of the answer, the rest): the reference is never empty."""
    out = []
    for q in qas:
        w = q.answer.split()
        cut = max(1, len(w) // 2)
        if len(w) - cut < 1:
            raise ValueError(f"VerbMem: answer too short to split: {q.answer!r}")
        out.append((q.question, " ".join(w[:cut]), " ".join(w[cut:])))
    return out


def model_stats(model, tok, b: Benchmark, prompt: str = PROMPT, suite: str = "tofu") -> dict:
    """What the TOFU (`suite="tofu"`) or MUSE (`suite="muse"`) metrics read, for one model."""
    out: dict = {}
    if b.members is None:  # real MUSE scores its QA sets with KnowMem's own prompt instead
        sets = ({"forget": b.forget_report, "retain": b.retain, "real_authors": b.real_authors,
                 "world_facts": b.world} if suite == "tofu" else {"forget": b.forget_report, "retain": b.retain})
        out.update(multi_qa_stats(model, tok, sets, prompt))
    if suite == "tofu":
        return out
    if b.members is not None:  # real MUSE: whole raw texts, every token after the first scored (MUSE's compute_ppl)
        out["member_lps"] = raw_text_logprobs(model, tok, b.members)
        out["holdout_lps"] = raw_text_logprobs(model, tok, b.nonmembers)
    else:
        out["member_lps"] = out["forget"]["lps"]
        out["holdout_lps"] = lm.answer_stats(model, tok, pairs(b.holdout, prompt))[1]
    if b.verbmem is not None:  # real MUSE: the benchmark's prompts, 128 new tokens, gt cut to 128 tokens
        conts = generate_answers(model, tok, [p for p, _ in b.verbmem], 128, stop=())
        gts = [tok.decode(tok(g, add_special_tokens=False)["input_ids"][:128], skip_special_tokens=True)
               for _, g in b.verbmem]
        out["verbmem"] = np.array([M.rouge_l(c, g)["f"] for c, g in zip(conts, gts)])
    else:
        vm = verbmem_pairs(b.forget_report)
        conts = generate_answers(model, tok, [prompt.format(q=q) + " " + pre for q, pre, _ in vm], 20)
        out["verbmem"] = np.array([M.rouge_l(c, rest)["f"] for c, (_, _, rest) in zip(conts, vm)])
    return out


def raw_text_logprobs(model, tok, texts: list[str], batch_size: int = 8) -> list[np.ndarray]:
    """MUSE's `compute_ppl` per text: log-probs of every token after the first (truncated to the sequence cap)."""
    from bench.lm import collate

    n = lm.max_len(tok)
    ex = []
    for t in texts:
        ids = tok(t, add_special_tokens=True)["input_ids"][:n]
        ex.append({"input_ids": ids, "labels": [lm.IGNORE] + ids[1:]})
    out: list[np.ndarray] = []
    import torch

    with torch.no_grad():
        for s in range(0, len(ex), batch_size):
            lp, mask = lm.token_logprobs(model.eval(), collate(ex[s: s + batch_size], tok.pad_token_id))
            out += [lp[i][mask[i]].double().cpu().numpy() for i in range(lp.shape[0])]
    return out


def mia(s: dict, k: float = 0.4) -> float:
    """MUSE's forget-vs-holdout Min-40 % AUC (forget = 0, holdout = 1)."""
    return M.mia_auc(np.array([M.min_k_score(lp, k) for lp in s["member_lps"]]),
                     np.array([M.min_k_score(lp, k) for lp in s["holdout_lps"]]))


_MEMO: "dict[Any, OrderedDict[tuple, Any]]" = {}


def memo(key: tuple, build, size: int = 8):
    """Process-level cache of loaded data for the embedded tiny models (deterministic: the same key builds the same
    data), so the cells of one `bench run` or test session share one world per seed instead of rebuilding it.

    One LRU of `size` entries per task class (`key[0]`): a task that keeps a single large world (the pretrained
    tier, size 1) does not evict the other tasks' worlds."""
    space = _MEMO.setdefault(key[0], OrderedDict())
    if key in space:
        space.move_to_end(key)
        return space[key]
    while len(space) >= size:
        space.popitem(last=False)
    value = build()
    space[key] = value
    return value


class UnlearnConfig(TuningConfig):
    n_authors: int = 36
    n_forget_authors: int = 6
    n_holdout: int = 6
    n_retain_train: int = 18
    n_retain_val: int = 4
    n_facts: int = Field(6, ge=1, le=6)
    n_world: int = Field(8, ge=2, le=8)  # world facts and real authors (each)
    finetune_epochs: float = 20.0
    finetune_lr: float = 3e-3


class _UnlearnTask(Task):
    family = "unlearning"
    version = "3"  # v3: definitions as released (geometric truth ratio, TOFU's 9 utility terms, MUSE's Min-40 %
    # PrivLeak), disjoint retain splits, 36-question forget set, tuned methods, float64 tiny models
    dataset = DatasetRef("generated: tasks/unlearning/data.py (TOFU-shaped fictitious authors)",
                         offline_default="synthetic authors QA, tiny Llama target/retain models (float64) built and "
                                         "cached; real runs: locuslab/TOFU (forget01/05/10) and muse-bench/MUSE-News|"
                                         "Books")
    config_cls = UnlearnConfig
    default_seeds = 5
    full_suite_seeds = 2
    table_artifacts = ("selected_lr", "selected_steps")
    # Records regenerated on another CPU: the float64 tiny models agree to ~1e-5 in their weights, which leaves the
    # continuous metrics equal to ~1e-4 but can move a KS p-value by one step of its discrete ladder (see the docs).
    verify_tolerance = 0.05

    # -- contract -----------------------------------------------------------------------------------------------
    def view(self, data: UnlearnData, privileges: frozenset[str], ctx: Context) -> UnlearnView:
        model = copy.deepcopy(data.model)
        if data.spec is not None and data.spec.finetune == "lora":
            from bench.lm import prepare_for_finetuning

            model = prepare_for_finetuning(model, data.spec)
        return UnlearnView(
            model=model, tokenizer=data.tokenizer, forget=tuple(data.forget), templates=tuple(data.templates),
            prompt=data.prompt, max_length=data.max_length,
            retain_data=tuple(data.retain_train) if "retain_data" in privileges else None,
            retain_model=copy.deepcopy(data.retain_model) if "retain_model" in privileges else None)

    def check_output(self, output, data: UnlearnData, ctx: Context) -> UnlearnedModel:
        return CONTRACT.check_output(output, vocab_size=len(data.tokenizer))

    def execute(self, method, data: UnlearnData, method_cfg, cfg, ctx):
        if getattr(cfg, "tune", False) and tunable(method_cfg):
            return run_tuned(self, method, data, method_cfg, cfg, ctx)
        return super().execute(method, data, method_cfg, cfg, ctx)

    # -- data ---------------------------------------------------------------------------------------------------
    def world_seed(self, ctx: Context) -> int:
        return data_seed(WORLD_SEED_NAME, ctx.seed_index)

    def load(self, cfg: UnlearnConfig, ctx: Context) -> UnlearnData:
        lm.set_threads("tiny")
        return memo((type(self).__name__, cfg.model_dump_json(), self.world_seed(ctx), str(ctx.cache_dir)),
                    lambda: self._load_synthetic(cfg, ctx))

    def _load_synthetic(self, cfg: UnlearnConfig, ctx: Context) -> UnlearnData:
        seed = self.world_seed(ctx)
        b = generate(np.random.default_rng(seed), cfg.n_authors, cfg.n_forget_authors, cfg.n_holdout,
                     cfg.n_retain_train, cfg.n_retain_val, cfg.n_facts, n_world=cfg.n_world)
        tok = tokenizer_for(b)
        kw = dict(cache_dir=ctx.cache_dir, seed=seed, epochs=cfg.finetune_epochs, lr=cfg.finetune_lr)
        target = finetune(tok, pairs(b.trained(), PROMPT), tag="synth-target", **kw)
        retain = finetune(tok, pairs(b.trained_without_forget(), PROMPT), tag="synth-retain", **kw)
        return self.assemble(b, target, retain, tok, PROMPT)

    def assemble(self, b: Benchmark, target, retain, tok, prompt: str, spec=None, forget=None, retain_train=None,
                 val_forget=None, val_utility=None) -> UnlearnData:
        return UnlearnData(
            target, tok, list(forget if forget is not None else b.forget), list(b.idk),
            list(retain_train if retain_train is not None else b.retain_train), prompt=prompt, bench=b,
            retain_model=retain, ref_stats=model_stats(retain, tok, b, prompt, self.metric_suite),
            val_forget=val_forget if val_forget is not None else pairs(b.forget_validation, prompt),
            val_utility=val_utility if val_utility is not None else pairs(b.retain_val, prompt),
            spec=spec, max_length=lm.max_len(tok))

    def smoke_params(self):
        return {"n_authors": 8, "n_forget_authors": 2, "n_holdout": 2, "n_retain_train": 2, "n_retain_val": 1,
                "n_facts": 3, "n_world": 4, "finetune_epochs": 10.0, "tune_lrs": [1e-3], "tune_steps": [3]}

    def hub_dataset(self, cfg) -> str | None:
        """The dataset id of a hub run (its revision is `cfg.revision`); None for the synthetic default."""
        return None

    def fingerprint(self, data: UnlearnData, cfg) -> dict[str, Any]:
        fp = super().fingerprint(data, cfg)
        hub = self.hub_dataset(cfg)
        if hub is not None:
            fp.update(id=hub, revision=cfg.revision)
        return fp


# -- TOFU ------------------------------------------------------------------------------------------------------
class TofuConfig(UnlearnConfig):
    source: Literal["synthetic", "hub"] = "synthetic"  # hub: locuslab/TOFU (needs a network or an HF cache)
    split: Literal["forget01", "forget05", "forget10"] = "forget10"  # hub only
    revision: str | None = None  # hub: dataset commit sha (required)
    model: str = "tiny"  # hub: the base model fine-tuned into target/retain (bench.lm.ModelSpec name or hub id)
    model_revision: str | None = None  # required for hub ids
    finetune: Literal["full", "lora"] = "full"  # hub: how target/retain are fine-tuned and methods train
    max_length: int = 256  # hub: token cap of prompt + answer
    hub_finetune_lr: float = 1e-5  # hub: TOFU's recipe (5 epochs, lr 1e-5)
    hub_finetune_epochs: float = 5.0
    n_retain_val: int = Field(4, ge=1)  # synthetic: authors; hub: 10x as many retain questions


def tofu_metrics(s: dict, ref: dict) -> dict[str, float]:
    return {"forget_quality": M.forget_quality(s["forget"]["tr"], ref["forget"]["tr"]),
            "model_utility": M.model_utility(tofu_utility_terms(s)),
            "forget_truth_ratio": M.forget_truth_ratio(s["forget"]["tr"]),
            "forget_rouge": float(s["forget"]["rouge_recall"].mean()),
            "forget_prob": float(np.mean(np.exp(-s["forget"]["ans_nll"])))}


TOFU_METRICS = (
    Metric("forget_quality", "max", "KS-test p-value: truth ratios on the forget set vs the retain model's",
           range=PROPORTION),
    Metric("model_utility", "max", "harmonic mean of TOFU's 9 terms (prob, ROUGE-L recall, truth ratio x retain, "
                                   "real authors, world facts)", range=PROPORTION),
    Metric("forget_truth_ratio", "max", "TOFU's mean min(R, 1/R) on the forget set (1 = no preference for the truth)",
           range=PROPORTION),
    Metric("forget_rouge", "min", "ROUGE-L recall (stemmed) of greedy answers on the forget set", range=PROPORTION),
    Metric("forget_prob", "min", "mean length-normalised probability of the forget answers", range=PROPORTION),
)


class TofuTask(_UnlearnTask):
    config_cls = TofuConfig
    description = ("TOFU metrics as released: forget quality (KS p-value of geometric-mean truth ratios vs the "
                   "retain-only model), model utility (9-term harmonic mean), forget truth ratio, ROUGE-L recall.")
    metrics = TOFU_METRICS
    primary_metric = "forget_quality"
    metric_suite = "tofu"

    def load(self, cfg: TofuConfig, ctx: Context) -> UnlearnData:
        if cfg.source == "synthetic":
            return super().load(cfg, ctx)
        return self._load_hub(cfg, ctx)

    def _load_hub(self, cfg: TofuConfig, ctx: Context) -> UnlearnData:
        """TOFU's protocol on the real data: fine-tune the base model on `full` (the target) and on `retainYY` (the
        retain reference), then unlearn the forget split; evaluation sets from the `*_perturbed` configs."""
        from bench.lm import ModelSpec, load_causal_lm

        from .hub import load_tofu

        b, full, retain_rows = load_tofu(cfg.split, cfg.revision, np.random.default_rng(ctx.data_seed),
                                         n_val=10 * cfg.n_retain_val)
        seed = int(ctx.data_seed % (2**31))
        hub_prompt = "Question: {q}\nAnswer:"
        if cfg.model == "tiny":
            tok, base, spec, key, lr, ep = tokenizer_for(b), None, None, "", 3e-3, cfg.finetune_epochs
            prompt = PROMPT
        else:
            spec = ModelSpec(cfg.model, cfg.model_revision, finetune=cfg.finetune)
            base, tok = load_causal_lm(spec, ctx.cache_dir)
            tok.model_max_length = cfg.max_length
            key, lr, ep, prompt = f"{cfg.model}@{cfg.model_revision}", cfg.hub_finetune_lr, cfg.hub_finetune_epochs, hub_prompt
        kw = dict(cache_dir=ctx.cache_dir, seed=seed, epochs=ep, lr=lr, base=base, base_key=key,
                  spec=spec if spec is not None and spec.finetune == "lora" else None)
        target = finetune(tok, pairs(full, prompt), tag="tofu-target", **kw)
        retain = finetune(tok, pairs(retain_rows, prompt), tag="tofu-retain", **kw)
        return self.assemble(b, target, retain, tok, prompt, spec=spec)

    def hub_dataset(self, cfg: TofuConfig) -> str | None:
        from .hub import TOFU_ID

        return f"{TOFU_ID} ({cfg.split})" if cfg.source == "hub" else None

    def evaluate(self, data: UnlearnData, output: UnlearnedModel, cfg, ctx):
        s = model_stats(output.model, data.tokenizer, data.bench, data.prompt, "tofu")
        ctx.add_artifact("utility_terms", {k: round(v, 6) for k, v in tofu_utility_terms(s).items()})
        return tofu_metrics(s, data.ref_stats)


# -- MUSE ------------------------------------------------------------------------------------------------------
class MuseConfig(UnlearnConfig):
    source: Literal["synthetic", "hub"] = "synthetic"  # hub: muse-bench/MUSE-News|Books (network or HF cache)
    corpus: Literal["news", "books"] = "news"  # hub only
    revision: str | None = None  # hub: dataset commit sha (required)
    target_model: str | None = None  # hub: default MUSE's released muse-bench/MUSE-<corpus>_target
    target_revision: str | None = None
    retain_model: str | None = None  # hub: default muse-bench/MUSE-<corpus>_retrain
    retain_revision: str | None = None
    max_length: int = 512
    max_chunks: int | None = None  # hub: cap the forget / retain text chunks the methods train on


MUSE_METRICS = (
    Metric("privleak_abs", "min", "|PrivLeak| in %: MUSE's Min-40 % MIA AUC (forget = 0, holdout = 1) relative to "
                                  "the retrained model; the signed value is the artifact `privleak`",
           range=NONNEGATIVE),
    Metric("verbmem_forget", "min", "ROUGE-L F1 of continuations of forget texts", range=PROPORTION),
    Metric("knowmem_forget", "min", "ROUGE-L F1 of answers to forget questions", range=PROPORTION),
    Metric("knowmem_retain", "max", "ROUGE-L F1 of answers to retain questions (utility)", range=PROPORTION),
)


class MuseTask(_UnlearnTask):
    config_cls = MuseConfig
    description = ("MUSE metrics as released: |PrivLeak| (Min-40 % MIA AUC relative to the retrained model; signed "
                   "value in the table), VerbMem and KnowMem on the forget set, KnowMem on the retain set.")
    metrics = MUSE_METRICS
    primary_metric = "privleak_abs"
    metric_suite = "muse"
    table_artifacts = ("privleak", "selected_lr", "selected_steps")

    def load(self, cfg: MuseConfig, ctx: Context) -> UnlearnData:
        if cfg.source == "synthetic":
            return super().load(cfg, ctx)
        from bench.lm import ModelSpec, load_causal_lm

        from .hub import load_muse

        b, forget_chunks, retain_chunks = load_muse(cfg.corpus, cfg.revision, cfg.max_chunks)
        target_id = cfg.target_model or f"muse-bench/MUSE-{cfg.corpus}_target"
        retain_id = cfg.retain_model or f"muse-bench/MUSE-{cfg.corpus}_retrain"
        target, tok = load_causal_lm(ModelSpec(target_id, cfg.target_revision), ctx.cache_dir)
        retain, _ = load_causal_lm(ModelSpec(retain_id, cfg.retain_revision), ctx.cache_dir)
        tok.model_max_length = cfg.max_length
        # methods unlearn the raw forget corpus (prefix -> continuation, no QA template), as MUSE does; the tuning
        # protocol holds out every 5th forget chunk and a slice of retain chunks no method trains on
        val_f = [i for i in range(len(forget_chunks)) if i % 5 == 4] or [0]
        n_rv = max(1, len(retain_chunks) // 5)
        raw = lambda qs: [(q.question, " " + q.answer) for q in qs]  # noqa: E731
        return self.assemble(b, target.eval(), retain.eval(), tok, "{q}", forget=forget_chunks,
                             retain_train=retain_chunks[n_rv:], val_forget=raw([forget_chunks[i] for i in val_f]),
                             val_utility=raw(retain_chunks[:n_rv]))

    def hub_dataset(self, cfg: MuseConfig) -> str | None:
        from .hub import MUSE_IDS

        return MUSE_IDS[cfg.corpus] if cfg.source == "hub" else None

    def evaluate(self, data: UnlearnData, output: UnlearnedModel, cfg, ctx):
        model, tok, b = output.model, data.tokenizer, data.bench
        s = model_stats(model, tok, b, data.prompt, "muse")
        leak = M.priv_leak(mia(s), mia(data.ref_stats))
        ctx.add_artifact("privleak", round(leak, 4))
        if b.icl_forget or b.icl_retain:  # real MUSE: KnowMem with MUSE's few-shot prompt and 32 new tokens
            km_f, km_r = knowmem(model, tok, b.forget, b.icl_forget), knowmem(model, tok, b.retain, b.icl_retain)
        else:
            km_f, km_r = float(s["forget"]["rouge_f"].mean()), float(s["retain"]["rouge_f"].mean())
        return {"privleak_abs": abs(leak), "verbmem_forget": float(s["verbmem"].mean()), "knowmem_forget": km_f,
                "knowmem_retain": km_r}


def knowmem_prompt(question: str, icl: list[tuple[str, str]]) -> str:
    """MUSE's KnowMem prompt: few-shot 'Question: ...\\nAnswer: ...\\n\\n' blocks, then the question."""
    head = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in icl)
    return head + f"Question: {question}\nAnswer: "


def knowmem(model, tok, qas, icl: list[tuple[str, str]], max_new_tokens: int = 32) -> float:
    """MUSE KnowMem: greedy 32-token answers to the few-shot prompt, cut before '\\n\\n' / '\\nQuestion' /
    'Question:', ROUGE-L F1 against the answer (no stemming)."""
    if not qas:
        return 0.0
    gens = generate_answers(model, tok, [knowmem_prompt(q.question, icl) for q in qas], max_new_tokens,
                            stop=("\n\n", "\nQuestion", "Question:"), batch_size=8)
    return float(np.mean([M.rouge_l(g, q.answer)["f"] for g, q in zip(gens, qas)]))


register_task(TofuTask("unlearn-tofu-synth-forget10"))
register_task(MuseTask("unlearn-muse-synth-forget10"))
