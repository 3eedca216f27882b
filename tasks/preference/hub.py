"""Real preference data: UltraFeedback-binarized (`HuggingFaceH4/ultrafeedback_binarized`) as `toy.Pair`s with score
margins, for the DPO-family methods (which only read prompt / chosen / rejected / margin).

Each row has `prompt`, `chosen` and `rejected` (chat message lists whose last assistant turn is the response) and
`score_chosen` / `score_rejected` (GPT-4 ratings, 1-10). The visible margin is score_chosen - score_rejected, the
quantity MixDPO's curriculum and routing threshold read. There is no hidden true reward on real data:
`true_margin` is NaN (the evaluation then needs a judge model: not wired here; see docs/preference.md).
Needs the hub or a populated HF cache, and a pinned dataset revision.
"""
from __future__ import annotations

import math

from bench.errors import DataUnavailable

from tasks.common.sorting import Pair

UF_ID = "HuggingFaceH4/ultrafeedback_binarized"


def _response(messages, field: str, i: int) -> str:
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        raise DataUnavailable(f"{UF_ID} row {i}: `{field}` is not a list of chat messages")
    last = messages[-1]
    if last.get("role") != "assistant" or "content" not in last:
        raise DataUnavailable(f"{UF_ID} row {i}: the last `{field}` message is not an assistant turn")
    return last["content"]


def rows_to_pairs(rows: list[dict], min_margin: float = 0.0) -> list[Pair]:
    """UltraFeedback-binarized rows -> pairs with margin = score_chosen - score_rejected (ties below `min_margin`
    dropped: a pair with margin 0 carries no preference)."""
    out = []
    for i, r in enumerate(rows):
        missing = [k for k in ("prompt", "chosen", "rejected", "score_chosen", "score_rejected") if k not in r]
        if missing:
            raise DataUnavailable(f"{UF_ID} row {i}: missing field(s) {missing}; wrong dataset revision?")
        margin = float(r["score_chosen"]) - float(r["score_rejected"])
        if margin < min_margin or (min_margin == 0.0 and margin == 0.0):
            continue
        out.append(Pair(r["prompt"], _response(r["chosen"], "chosen", i), _response(r["rejected"], "rejected", i),
                        margin, math.nan))
    return out


def load_ultrafeedback(revision: str | None, split: str = "train_prefs", max_pairs: int | None = None,
                       min_margin: float = 0.0) -> list[Pair]:
    if revision is None:
        raise DataUnavailable(f"{UF_ID}: pin a dataset revision (commit sha)")
    try:
        from datasets import load_dataset

        ds = load_dataset(UF_ID, split=split, revision=revision)
    except Exception as e:  # offline, wrong revision or split
        raise DataUnavailable(f"{UF_ID} [{split}] @ {revision} could not be loaded (offline? not cached?): "
                              f"{type(e).__name__}: {e}") from None
    rows = ds.select(range(min(max_pairs, len(ds)))) if max_pairs else ds
    return rows_to_pairs([dict(r) for r in rows], min_margin)
