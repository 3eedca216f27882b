"""Tokenizers that need no download."""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Iterable

from ..errors import DataUnavailable
from ..paths import cache_dir as default_cache_dir

_R50K_PAT = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def _whisper_asset(name: str) -> Path:
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable("the exact GPT-2 tokenizer comes from the `openai-whisper` sdist: "
                              "pip install --no-deps openai-whisper==20250625")
    p = Path(spec.submodule_search_locations[0]) / "assets" / name
    if not p.exists():
        raise DataUnavailable(f"{p} is missing from the openai-whisper install")
    return p


def gpt2_tokenizer(cache_dir: str | None = None):
    """The exact GPT-2 tokenizer (built once per process, see `_gpt2_tokenizer`); each call hands out its own copy, so a
    task that sets `model_max_length` or the padding side does not change it for the next task or test of the process
    (the tiny unlearning paper cell's limit of 96 made a later preference test fail)."""
    import copy

    return copy.deepcopy(_gpt2_tokenizer(cache_dir))


@functools.lru_cache(maxsize=2)
def _gpt2_tokenizer(cache_dir: str | None = None):
    """The exact GPT-2 (r50k_base) BPE as a transformers GPT2 tokenizer, rebuilt from whisper's gpt2.tiktoken ranks.

    The ranks file stores base64 byte strings; GPT-2's vocab.json uses the byte->unicode map, and the merges are
    recovered by splitting each token into the two ranked parts whose merge produces it (BPE rank order).
    """
    import base64
    import json

    from transformers import GPT2TokenizerFast

    src = _whisper_asset("gpt2.tiktoken")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    out = default_cache_dir(cache_dir) / f"gpt2-tokenizer-{digest}"  # DCAI_CACHE_DIR like every other cache
    if not (out / "tokenizer.json").exists():
        ranks: dict[bytes, int] = {}
        for line in src.read_text().splitlines():
            if line:
                tok, r = line.split()
                ranks[base64.b64decode(tok)] = int(r)
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
        cs = bs[:]
        n = 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + n)
                n += 1
        b2u = {b: chr(c) for b, c in zip(bs, cs)}

        def uni(bt: bytes) -> str:
            return "".join(b2u[b] for b in bt)

        vocab = {uni(t): r for t, r in ranks.items()}
        def split(token: bytes, max_rank: int) -> list[bytes]:
            # replay BPE on the token's bytes with only the merges ranked below it: it ends in the two parents
            parts = [bytes([b]) for b in token]
            while len(parts) > 1:
                best_i, best_r = -1, max_rank
                for i in range(len(parts) - 1):
                    r = ranks.get(parts[i] + parts[i + 1])
                    if r is not None and r < best_r:
                        best_i, best_r = i, r
                if best_i < 0:
                    break
                parts[best_i: best_i + 2] = [parts[best_i] + parts[best_i + 1]]
            return parts

        merges = []
        for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            if len(tok) < 2:
                continue
            parts = split(tok, rank)
            if len(parts) == 2:
                merges.append(f"{uni(parts[0])} {uni(parts[1])}")
        vocab["<|endoftext|>"] = 50256
        # built in a private directory, then renamed into place: a parallel process never sees half a tokenizer
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "vocab.json").write_text(json.dumps(vocab))
        (tmp / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        tok = GPT2TokenizerFast(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                unk_token="<|endoftext|>")
        tok.save_pretrained(str(tmp))
        try:
            os.rename(tmp, out)
        except OSError:  # another process put it there first
            shutil.rmtree(tmp, ignore_errors=True)
    tok = GPT2TokenizerFast.from_pretrained(str(out))
    tok.pad_token = tok.eos_token
    return tok


def bpe_tokenizer(corpus: Iterable[str], vocab_size: int = 1024):
    """A small byte-level BPE trained on `corpus` (deterministic for the same corpus and size); for tiny models."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(list(corpus), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   pad_token="<pad>")
