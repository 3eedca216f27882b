"""Margin-defined difficulty (MixDPO, Pang, Zhu, Di et al., 2026): a pair's difficulty is its (visible) margin, small
= hard. The curriculum visits pairs easy -> hard (descending margin); routing sends pairs below the margin threshold
(the `route_quantile` quantile of margins) to the SFT loss on the chosen response, the rest to the DPO loss."""
from __future__ import annotations

import numpy as np


def easy_to_hard(margins: np.ndarray) -> np.ndarray:
    return np.argsort(-margins, kind="stable")


def route_small_margin(margins: np.ndarray, quantile: float) -> np.ndarray:
    return margins < np.quantile(margins, quantile)
