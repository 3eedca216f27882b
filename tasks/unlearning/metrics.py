"""TOFU and MUSE metrics, implemented to the benchmarks' definitions (tests check each on hand-computed cases).

TOFU (Maini et al., 2024):
- probability of an answer: P(a | q)^(1/|a|) (length-normalised); on world facts normalised over the candidates:
  P(a) / (P(a) + sum_perturbed P(a~));
- truth ratio: R = mean_j P(a~_j | q)^(1/|a~_j|) / P(a^ | q)^(1/|a^|) (perturbed over paraphrased);
- forget quality: p-value of the two-sample Kolmogorov-Smirnov test between the truth-ratio distributions of the
  unlearned model and of the retain-only model on the forget set;
- model utility: harmonic mean of probability, ROUGE-L recall and max(0, 1 - R) over the retain and world-fact sets;
- ROUGE-L recall of the greedy answer vs the ground truth (rouge-score's tokenisation, no stemming).
MUSE (Shi et al., 2024):
- VerbMem: ROUGE-L F1 between the model's continuation of a forget-text prefix and the true continuation;
- KnowMem: ROUGE-L F1 of answers to questions on the forget / retain knowledge;
- PrivLeak: (AUC_unlearned - AUC_retrain) / AUC_retrain * 100, AUC of Min-K% Prob membership inference (members:
  forget set; non-members: holdout), where Min-K% = mean of the k % lowest token log-probs (Shi et al., 2024)."""
from __future__ import annotations

import re

import numpy as np
from scipy.stats import hmean, ks_2samp
from sklearn.metrics import roc_auc_score


def rouge_tokens(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(pred: str, ref: str) -> dict[str, float]:
    p, r = rouge_tokens(pred), rouge_tokens(ref)
    n = lcs(p, r)
    prec = n / len(p) if p else 0.0
    rec = n / len(r) if r else 0.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f": f}


def truth_ratio(nll_para_mean: np.ndarray, nll_pert_mean: np.ndarray) -> np.ndarray:
    """nll_*: mean per-token NLLs; nll_pert_mean has shape (n, n_perturbed)."""
    p_para = np.exp(-np.asarray(nll_para_mean))
    p_pert = np.exp(-np.asarray(nll_pert_mean)).mean(axis=1)
    return p_pert / p_para


def forget_quality(tr_unlearned: np.ndarray, tr_retain: np.ndarray) -> float:
    return float(ks_2samp(tr_unlearned, tr_retain).pvalue)


def model_utility(values: list[float]) -> float:
    v = np.asarray(values, dtype=float)
    return 0.0 if (v <= 0).any() else float(hmean(v))


def min_k_prob(token_logprobs: np.ndarray, k: float = 0.2) -> float:
    lp = np.sort(np.asarray(token_logprobs, dtype=float))
    m = max(1, int(np.ceil(k * len(lp))))
    return float(lp[:m].mean())


def mia_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """AUC of separating members (higher Min-K% log-prob) from non-members."""
    y = np.r_[np.ones(len(member_scores)), np.zeros(len(nonmember_scores))]
    return float(roc_auc_score(y, np.r_[member_scores, nonmember_scores]))


def priv_leak(auc_unlearned: float, auc_retrain: float) -> float:
    return (auc_unlearned - auc_retrain) / auc_retrain * 100.0
