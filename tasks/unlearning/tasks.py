"""Unlearning tasks on the TOFU-shaped synthetic benchmark: TOFU metrics and MUSE metrics."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, PROPORTION, Task, register_task
from bench.config import StrictConfig
from bench.lm import collate, token_nll
from bench.lm import greedy_generate as greedy

from . import metrics as M
from .data import Benchmark, generate
from .models import PROMPT, encode, finetune, max_len, tokenizer_for


@dataclass
class UnlearnData:
    """What a method sees: the target model (train a copy), tokenizer, forget QA, retain QA, IDK templates.
    FLAT-style methods must only use `forget` and `idk`."""

    model: Any
    tokenizer: Any
    forget: list
    retain: list
    idk: list[str]
    prompt: str = PROMPT  # how a question becomes the model's prompt
    bench: Benchmark = field(repr=False, default=None)
    retain_model: Any = field(repr=False, default=None)
    ref_stats: dict = field(repr=False, default_factory=dict)

    def fingerprint(self) -> dict:
        b = self.bench
        return {"qa": [(q.question, q.answer, q.paraphrase, q.perturbed) for q in b.forget + b.retain + b.holdout],
                "target": self.model, "retain_model": self.retain_model}


def _nll(model, tok, qas, which="answer", prompt: str = PROMPT):
    """Mean per-token NLL per example, and per-example token log-prob arrays."""
    import torch

    ex = encode(tok, qas, which, prompt)
    with torch.no_grad():
        nll, mask = token_nll(model, collate(ex, tok.pad_token_id))
    means = (nll.sum(1) / mask.sum(1)).numpy()
    lps = [-nll[i][mask[i]].numpy() for i in range(len(ex))]
    return means, lps


def _pert(model, tok, qas):
    k = len(qas[0].perturbed)
    flat = [type(q)(q.question, p, p, []) for q in qas for p in q.perturbed]
    m, _ = _nll(model, tok, flat)
    return m.reshape(len(qas), k)


def model_stats(model, tok, b: Benchmark) -> dict:
    out: dict = {}
    for name, qas in (("forget", b.forget), ("retain", b.retain), ("world", b.world)):
        if not qas:  # real MUSE has no world facts
            continue
        ans, lps = _nll(model, tok, qas)
        para, _ = _nll(model, tok, qas, "paraphrase")
        pert = _pert(model, tok, qas)
        gens = greedy(model, tok, [PROMPT.format(q=q.question) for q in qas], max_new_tokens=24)
        out[name] = {"ans_nll": ans, "tr": M.truth_ratio(para, pert), "pert_nll": pert, "lps": lps,
                     "rouge_recall": np.array([M.rouge_l(g, q.answer)["recall"] for g, q in zip(gens, qas)]),
                     "rouge_f": np.array([M.rouge_l(g, q.answer)["f"] for g, q in zip(gens, qas)])}
    raw = "{q}"  # raw text: the prefix is the prompt, no QA template
    if b.members is not None:  # real MUSE: MIA on raw member / non-member texts
        out["member_lps"] = _nll(model, tok, b.members, prompt=raw)[1]
        out["holdout_lps"] = _nll(model, tok, b.holdout, prompt=raw)[1]
    else:
        out["holdout_lps"] = _nll(model, tok, b.holdout)[1] if b.holdout else []  # TOFU revisions without holdoutXX
    if b.verbmem is not None:  # real MUSE: continue the benchmark's own VerbMem prompts
        conts = greedy(model, tok, [p for p, _ in b.verbmem], max_new_tokens=min(128, max_len(tok)))
        out["verbmem"] = np.array([M.rouge_l(c, gt)["f"] for c, (_, gt) in zip(conts, b.verbmem)])
        return out
    # VerbMem: continue the first 4 words of each forget answer
    prefixes = [PROMPT.format(q=q.question) + " " + " ".join(q.answer.split()[:4]) for q in b.forget]
    conts = greedy(model, tok, prefixes, max_new_tokens=20)
    out["verbmem"] = np.array([M.rouge_l(c, " ".join(q.answer.split()[4:]))["f"] for c, q in zip(conts, b.forget)])
    return out


def tofu_utility(s: dict) -> float:
    vals = []
    for name in ("retain", "world"):
        d = s[name]
        if name == "world":  # probability normalised over the candidate answers
            p = np.exp(-d["ans_nll"])
            prob = float(np.mean(p / (p + np.exp(-d["pert_nll"]).sum(1))))
        else:
            prob = float(np.mean(np.exp(-d["ans_nll"])))
        vals += [prob, float(d["rouge_recall"].mean()), float(np.mean(np.maximum(0.0, 1.0 - d["tr"])))]
    return M.model_utility(vals)


def mia(s: dict, k: float = 0.2) -> float:
    members = s["member_lps"] if "member_lps" in s else s["forget"]["lps"]
    return M.mia_auc(np.array([M.min_k_prob(lp, k) for lp in members]),
                     np.array([M.min_k_prob(lp, k) for lp in s["holdout_lps"]]))


class UnlearnConfig(StrictConfig):
    n_authors: int = 40
    forget_fraction: float = 0.1
    finetune_steps: int = 300


class _UnlearnTask(Task):
    family = "unlearning"
    version = "2"  # v2: world-fact distractors use trained words (v1's unseen words made world utility trivial)
    dataset = DatasetRef("generated: tasks/unlearning/data.py (TOFU-shaped fictitious authors)",
                         offline_default="synthetic authors QA, tiny Llama target/retain models built and cached; "
                                         "real runs: locuslab/TOFU (forget01/05/10) and muse-bench/MUSE-News|Books")
    config_cls = UnlearnConfig

    def load(self, cfg: UnlearnConfig, ctx: Context) -> UnlearnData:
        import torch

        torch.set_num_threads(2)
        b = generate(ctx.data_rng, cfg.n_authors, cfg.forget_fraction)
        tok = tokenizer_for(b)
        seed = int(ctx.data_seed % (2**31))
        target = finetune(tok, b.forget + b.retain + b.world, ctx.cache_dir, seed, cfg.finetune_steps, "target")
        retain = finetune(tok, b.retain + b.world, ctx.cache_dir, seed, cfg.finetune_steps, "retain")
        ref_stats = model_stats(retain, tok, b)
        return UnlearnData(target, tok, b.forget, b.retain, b.idk, bench=b, retain_model=retain, ref_stats=ref_stats)

    def execute(self, method, data: UnlearnData, method_cfg, cfg, ctx):
        view = UnlearnData(copy.deepcopy(data.model), data.tokenizer, data.forget, data.retain, data.idk,
                           prompt=data.prompt)
        if method.name == "retain_model":
            view.model = copy.deepcopy(data.retain_model)
        return method.fn(view, method_cfg, ctx)

    def smoke_params(self):
        return {"n_authors": 10, "finetune_steps": 40}

    def hub_dataset(self, cfg) -> str | None:
        """The dataset id of a hub run (its revision is `cfg.revision`); None for the synthetic default."""
        return None

    def fingerprint(self, data: UnlearnData, cfg) -> dict[str, Any]:
        fp = super().fingerprint(data, cfg)
        hub = self.hub_dataset(cfg)
        if hub is not None:
            fp.update(id=hub, revision=cfg.revision)
        return fp


class TofuConfig(UnlearnConfig):
    source: Literal["synthetic", "hub"] = "synthetic"  # hub: locuslab/TOFU (needs a network or an HF cache)
    split: Literal["forget01", "forget05", "forget10"] = "forget10"  # hub only
    revision: str | None = None  # hub: dataset commit sha (required)
    model: str = "tiny"  # hub: the base model fine-tuned into target/retain (bench.lm.ModelSpec name or hub id)
    model_revision: str | None = None  # required for hub ids
    max_length: int = 256  # hub: token cap of prompt + answer
    finetune_lr: float = 1e-5  # hub: learning rate of the target / retain fine-tuning (TOFU's recipe)


class TofuTask(_UnlearnTask):
    config_cls = TofuConfig

    def load(self, cfg: TofuConfig, ctx: Context) -> UnlearnData:
        if cfg.source == "synthetic":
            return super().load(cfg, ctx)
        return self._load_hub(cfg, ctx)

    def _load_hub(self, cfg: TofuConfig, ctx: Context) -> UnlearnData:
        """TOFU's protocol on the real data: fine-tune the base model on `full` (the target) and on `retainYY` (the
        retain reference), then unlearn the forget split; evaluation sets from the `*_perturbed` configs."""
        from bench.lm import ModelSpec, load_causal_lm

        from .data import QA
        from .hub import load_tofu

        b, full, retain_rows = load_tofu(cfg.split, cfg.revision)
        seed = int(ctx.data_seed % (2**31))
        if cfg.model == "tiny":
            tok, base, key, lr = tokenizer_for(b), None, "", 3e-3
        else:
            base, tok = load_causal_lm(ModelSpec(cfg.model, cfg.model_revision), ctx.cache_dir)
            tok.model_max_length = cfg.max_length
            key, lr = f"{cfg.model}@{cfg.model_revision}", cfg.finetune_lr
        as_qa = [QA(r["question"], r["answer"], r["answer"], []) for r in full]
        kept = [QA(r["question"], r["answer"], r["answer"], []) for r in retain_rows]
        kw = {"base": base, "base_key": key, "lr": lr}
        target = finetune(tok, as_qa, ctx.cache_dir, seed, cfg.finetune_steps, "tofu-target", **kw)
        retain = finetune(tok, kept, ctx.cache_dir, seed, cfg.finetune_steps, "tofu-retain", **kw)
        return UnlearnData(target, tok, b.forget, b.retain, b.idk, bench=b, retain_model=retain,
                           ref_stats=model_stats(retain, tok, b))

    def hub_dataset(self, cfg: TofuConfig) -> str | None:
        from .hub import TOFU_ID

        return f"{TOFU_ID} ({cfg.split})" if cfg.source == "hub" else None

    description = ("TOFU metrics: forget quality (KS p-value of truth ratios vs the retain-only model), model utility "
                   "(harmonic mean over retain and world facts), ROUGE-L recall on the forget set.")
    metrics = (Metric("forget_quality", "max", range=PROPORTION), Metric("model_utility", "max", range=PROPORTION), Metric("forget_rouge", "min", range=PROPORTION),
               Metric("forget_truth_ratio", "max", range=NONNEGATIVE))
    primary_metric = "forget_quality"

    def evaluate(self, data: UnlearnData, model, cfg, ctx):
        s = model_stats(model, data.tokenizer, data.bench)
        return {"forget_quality": M.forget_quality(s["forget"]["tr"], data.ref_stats["forget"]["tr"]),
                "model_utility": tofu_utility(s), "forget_rouge": float(s["forget"]["rouge_recall"].mean()),
                "forget_truth_ratio": float(np.mean(s["forget"]["tr"]))}


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


class MuseTask(_UnlearnTask):
    config_cls = MuseConfig

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
        # methods unlearn the raw forget corpus (prefix -> continuation, no QA template), as MUSE does
        return UnlearnData(target.eval(), tok, forget_chunks, retain_chunks, b.idk, prompt="{q}", bench=b,
                           retain_model=retain.eval(), ref_stats=model_stats(retain, tok, b))

    def hub_dataset(self, cfg: MuseConfig) -> str | None:
        from .hub import MUSE_IDS

        return MUSE_IDS[cfg.corpus] if cfg.source == "hub" else None

    description = ("MUSE metrics: VerbMem and KnowMem on the forget set (lower = forgotten), KnowMem on the retain "
                   "set (utility), and |PrivLeak| (Min-K% Prob MIA AUC relative to the retain-only model; 0 = ideal).")
    metrics = (Metric("privleak_abs", "min", range=NONNEGATIVE), Metric("verbmem_forget", "min", range=PROPORTION), Metric("knowmem_forget", "min", range=PROPORTION),
               Metric("knowmem_retain", "max", range=PROPORTION))
    primary_metric = "privleak_abs"

    def evaluate(self, data: UnlearnData, model, cfg, ctx):
        s = model_stats(model, data.tokenizer, data.bench)
        leak = M.priv_leak(mia(s), mia(data.ref_stats))
        ctx.add_artifact("privleak", leak)
        return {"privleak_abs": abs(leak), "verbmem_forget": float(s["verbmem"].mean()),
                "knowmem_forget": float(s["forget"]["rouge_f"].mean()),
                "knowmem_retain": float(s["retain"]["rouge_f"].mean())}


register_task(TofuTask("unlearn-tofu-synth-forget10"))
register_task(MuseTask("unlearn-muse-synth-forget10"))
