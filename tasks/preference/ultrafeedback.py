"""The real-data preference task: `pref-ultrafeedback` (suite `extended`; needs the hub or a populated HF cache).

- Pairs: UltraFeedback-binarized (`HuggingFaceH4/ultrafeedback_binarized`, split `train_prefs`) at a pinned dataset
  revision; the visible margin is score_chosen - score_rejected (GPT-4 ratings); ties dropped (tasks/preference/hub.py).
  There is no hidden reward: the privilege `true_margins` is unavailable, oracle rows cannot run.
- Prompts: AlpacaEval's 805 instructions (`tatsu-lab/alpaca_eval`, config `alpaca_eval`, split `eval`) at a pinned
  revision, shuffled per data seed and split into validation (tuning) and evaluation prompts: disjoint, and never
  training prompts.
- Policy: `model` (default SmolLM2-135M-Instruct from the hub by pinned revision; LoRA on the top layers); prompts and
  pairs are rendered with the policy's own chat template. The SFT policy is every method's start, reference and the
  judged baseline (alpaca_eval compares against a fixed reference model's outputs; here the reference is the SFT
  policy, so LC win rate measures the gain of preference training).
- Judge: `judge` (an instruction-tuned causal LM by hub id + pinned revision, independent of the training signal),
  prompted with alpaca_eval's pairwise template and scored as alpaca_eval's weighted annotators are (judge.py:
  `LMJudge`), both presentation orders averaged.
- Sequence limits: from the tokenizer / model (`sequence_limit`); a pair longer than the limit is an error naming it,
  unless `max_pair_tokens` drops such pairs explicitly (reported as the artifact `dropped_long_pairs`).

Revisions have no defaults: a run must pin them (`--set task.dataset_revision=SHA` etc.); without them, or offline,
the task reports DataUnavailable.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, Metric, NONNEGATIVE, register_task
from bench.errors import DataUnavailable
from bench.lm import FrozenTrunk, ModelConfig, encode_sft, load_causal_lm, sequence_limit, set_torch_threads
from bench.lm.trunk import supports_trunk

from .base import PreferenceTask, PrefData, TuneFields, cached_generate
from .contract import PairBudget, VisiblePair
from .hub import UF_ID, load_ultrafeedback
from .judge import LMJudge

AE_ID = "tatsu-lab/alpaca_eval"


def chat(tok, instruction: str) -> str:
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False,
                                       add_generation_prompt=True)
    return f"<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n"


def load_alpaca_eval_instructions(revision: str | None) -> list[str]:
    if revision is None:
        raise DataUnavailable(f"{AE_ID}: pin a dataset revision (commit sha)")
    try:
        from datasets import load_dataset

        ds = load_dataset(AE_ID, "alpaca_eval", split="eval", revision=revision)
    except Exception as e:
        raise DataUnavailable(f"{AE_ID} @ {revision} could not be loaded (offline? not cached?): "
                              f"{type(e).__name__}: {e}") from None
    if "instruction" not in ds.column_names:
        raise DataUnavailable(f"{AE_ID} @ {revision}: no `instruction` column; wrong revision?")
    return [str(r["instruction"]) for r in ds]


class UltraFeedbackConfig(TuneFields):
    model: ModelConfig = ModelConfig(name="HuggingFaceTB/SmolLM2-135M-Instruct", finetune="lora", train_layers=6,
                                     lora_r=16, lora_alpha=32)
    judge: ModelConfig = ModelConfig(name="Qwen/Qwen2.5-1.5B-Instruct", finetune="full")
    dataset_revision: str | None = Field(None, description="UltraFeedback-binarized commit sha (required)")
    prompts_revision: str | None = Field(None, description="tatsu-lab/alpaca_eval commit sha (required)")
    split: str = "train_prefs"
    n_pairs: int = Field(2000, ge=2, description="the first n rows of the split (before dropping ties)")
    max_pair_tokens: int | None = Field(None, ge=8, description="drop longer pairs explicitly (None: a longer pair "
                                                                "than the model's limit is an error)")
    n_val: int = Field(64, ge=2)
    n_eval: int = Field(256, ge=2)
    steps: int = Field(200, ge=1)
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(256, ge=1)
    judge_batch_size: int = Field(4, ge=1)


class UltraFeedbackPreference(PreferenceTask):
    version = "1"
    description = ("UltraFeedback-binarized pairs (visible margin = GPT-4 score difference) on an instruct policy; "
                   "judged on AlpacaEval instructions against the SFT policy by an LM judge with alpaca_eval's "
                   "template; LC win rate as alpaca_eval.")
    dataset = DatasetRef(f"{UF_ID} + {AE_ID}", offline_default="none: needs the hub (pinned revisions)")
    config_cls = UltraFeedbackConfig
    suites = ("extended",)
    default_seeds = 3
    metrics = (Metric("lc_win_rate", "max", "length-controlled win rate vs the SFT policy (alpaca_eval GLM)",
                      range=(0.0, 100.0)),
               Metric("win_rate", "max", "win rate vs the SFT policy under the LM judge", range=(0.0, 100.0)),
               Metric("mean_length", "min", "answer length in characters", range=NONNEGATIVE))

    def load(self, cfg: UltraFeedbackConfig, ctx: Context) -> PrefData:
        spec = cfg.model.spec()
        set_torch_threads(spec.name == "tiny-llama")
        raw = load_ultrafeedback(cfg.dataset_revision, cfg.split, cfg.n_pairs)
        instructions = load_alpaca_eval_instructions(cfg.prompts_revision)
        if cfg.n_val + cfg.n_eval > len(instructions):
            raise ValueError(f"n_val + n_eval = {cfg.n_val + cfg.n_eval} > {len(instructions)} AlpacaEval prompts")
        policy, tok = load_causal_lm(spec, cache_dir=ctx.cache_dir, **self._tiny(spec, cfg))
        policy.eval()
        limit = sequence_limit(tok, policy)
        pairs, dropped = [], 0
        for i, p in enumerate(raw):
            prompt = chat(tok, p.prompt)
            if cfg.max_pair_tokens is not None:
                longest = max(len(encode_sft(tok, prompt, r)["input_ids"]) for r in (p.chosen, p.rejected))
                if longest > cfg.max_pair_tokens:
                    dropped += 1
                    continue
            pairs.append(VisiblePair(prompt, p.chosen, p.rejected, float(p.margin)))
        ctx.add_artifact("dropped_long_pairs", dropped)
        if not pairs:
            raise ValueError("no UltraFeedback pair left (ties dropped, max_pair_tokens)")
        order = ctx.data_rng.permutation(len(instructions))
        cache = None if spec.name.startswith("tiny") else ctx.cache_dir
        splits = {}
        for name, idx in (("val", order[:cfg.n_val]), ("eval", order[cfg.n_val: cfg.n_val + cfg.n_eval])):
            instr = [instructions[int(i)] for i in idx]
            prompts = [chat(tok, s) for s in instr]
            base_out = (cached_generate(policy, tok, prompts, cfg.max_new_tokens, cache)
                        if name == "eval" or cfg.tuning else None)
            splits[name] = {"prompts": prompts, "meta": instr, "baseline": base_out}
        jspec = cfg.judge.spec()
        jmodel, jtok = load_causal_lm(jspec, cache_dir=ctx.cache_dir, **self._tiny(jspec, cfg))
        judge = LMJudge(jmodel.eval(), jtok, batch_size=cfg.judge_batch_size, max_length=sequence_limit(jtok, jmodel))
        trunk = FrozenTrunk(policy, spec.train_layers, cache_dir=cache) if (
            spec.train_layers is not None and supports_trunk(policy)) else None
        return PrefData(policy, tok, pairs, np.full(len(pairs), np.nan), splits["val"], splits["eval"],
                        PairBudget(cfg.steps, cfg.batch_size), spec=spec, trunk=trunk, max_length=limit,
                        extra={"judge": judge})

    @staticmethod
    def _tiny(spec, cfg) -> dict:
        """Sizes of the random tiny stand-in (tests only)."""
        return {"hidden": 32, "layers": 2, "heads": 2, "max_positions": 2048} if spec.name.startswith("tiny") else {}

    def judge(self, data: PrefData, split: dict, outputs: list[str]) -> dict:
        return {"pref": data.extra["judge"](split["meta"], outputs, split["baseline"])}

    def fingerprint(self, data: PrefData, cfg: UltraFeedbackConfig):
        from bench.fingerprint import content_hash

        return {"id": f"{UF_ID}@{cfg.dataset_revision} [{cfg.split}] + {AE_ID}@{cfg.prompts_revision}; "
                      f"policy {cfg.model.name}@{cfg.model.revision}; judge {cfg.judge.name}@{cfg.judge.revision}",
                "revision": cfg.dataset_revision, "content_hash": content_hash(data)}


register_task(UltraFeedbackPreference("pref-ultrafeedback"))
