"""TOFU, MUSE and FLAT-copyright metrics, to the definitions in the benchmarks' released code (each is tested on fixed
inputs against that definition in tests/test_unlearning_metrics.py).

TOFU (Maini et al., 2024; locuslab/tofu `aggregate_eval_stat.py`, open-unlearning `memorization.truth_ratio`):
- probability of an answer: exp(-mean per-token NLL) (length-normalised); on world facts and real authors normalised
  over the candidates: P(a) / (P(a) + sum_j P(a~_j));
- truth ratio R = perturbed over paraphrased probability, the perturbed side a *geometric* mean (TOFU averages the
  perturbed answers' losses before exponentiating): R = exp(NLL(a^) - mean_j NLL(a~_j)) = (prod_j P(a~_j))^(1/k) / P(a^);
- forget truth ratio as TOFU reports it: mean(min(R, 1/R)) (1 = the model cannot tell the paraphrase from the
  perturbations, as a model that never saw the facts; over-unlearning (R >> 1) is not rewarded);
  retain / real authors / world facts: mean(max(0, 1 - R));
- forget quality: p-value of the two-sample Kolmogorov-Smirnov test between the truth ratios of the unlearned and of
  the retain-only model on the forget set (scipy's exact mode for small samples, as TOFU's `ks_2samp` call);
- model utility: harmonic mean of 9 terms = {probability, ROUGE-L recall, truth-ratio term} x {retain, real authors,
  world facts};
- ROUGE-L recall with stemming (rouge-score, as TOFU's `eval_rouge_recall`).
MUSE (Shi et al., 2024; swj0419/muse_bench `metrics/privleak.py`, `eval.py`):
- VerbMem / KnowMem: ROUGE-L F1 (rouge-score, no stemming) of the continuation / answer;
- Min-K% Prob: minus the mean of the floor(k * n) lowest token log-probs (k = 0.4 for PrivLeak);
- MIA AUC with the forget set as label 0 and the holdout set as label 1, score = -Min-K% (sklearn roc_curve + auc);
- PrivLeak = (AUC_unlearned - AUC_retrain) / AUC_retrain * 100, signed; it is -100 % when the model separates forget
  from holdout perfectly (AUC 0, the un-unlearned target), 0 for the retrained model, > 0 for over-unlearning.
FLAT copyright (UCSC-REAL/FLAT `evaluate.py`): per passage sacrebleu BLEU (`corpus_bleu([hyp], [[ref]])`, 13a) and
ROUGE-L recall with stemming, averaged over passages; the forget-quality gap compares both with the retained model.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.stats import hmean, ks_2samp

TOFU_UTILITY_TERMS = tuple(f"{m} {s}" for s in ("retain", "real_authors", "world_facts")
                           for m in ("prob", "rougeL_recall", "truth_ratio"))


@functools.lru_cache(maxsize=4)
def _scorer(stem: bool):
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=stem)


def rouge_l(pred: str, ref: str, stem: bool = False) -> dict[str, float]:
    """ROUGE-L of `pred` against `ref` through rouge-score (TOFU and FLAT: stem=True; MUSE: stem=False)."""
    s = _scorer(stem).score(ref, pred)["rougeL"]
    return {"precision": float(s.precision), "recall": float(s.recall), "f": float(s.fmeasure)}


def truth_ratio(nll_para: np.ndarray, nll_pert: np.ndarray) -> np.ndarray:
    """R = geometric mean of the perturbed answers' probabilities over the paraphrased answer's probability, from mean
    per-token NLLs (`nll_pert` has shape (n, k))."""
    return np.exp(np.asarray(nll_para, dtype=float) - np.asarray(nll_pert, dtype=float).mean(axis=1))


def forget_truth_ratio(tr: np.ndarray) -> float:
    """TOFU's forget-set aggregate: mean(min(R, 1/R)) (1 is best: no preference for the true paraphrase)."""
    tr = np.asarray(tr, dtype=float)
    return float(np.mean(np.minimum(tr, 1.0 / tr)))


def retain_truth_ratio(tr: np.ndarray) -> float:
    """TOFU's aggregate on retain / real authors / world facts: mean(max(0, 1 - R))."""
    return float(np.mean(np.maximum(0.0, 1.0 - np.asarray(tr, dtype=float))))


def forget_quality(tr_unlearned: np.ndarray, tr_retain: np.ndarray) -> float:
    return float(ks_2samp(tr_unlearned, tr_retain).pvalue)


def normalised_prob(nll_true: np.ndarray, nll_pert: np.ndarray) -> float:
    """TOFU's probability on real authors / world facts: P(true) / (P(true) + sum P(perturbed)), averaged."""
    p = np.exp(-np.asarray(nll_true, dtype=float))
    return float(np.mean(p / (p + np.exp(-np.asarray(nll_pert, dtype=float)).sum(axis=1))))


def model_utility(values: list[float] | dict[str, float]) -> float:
    """Harmonic mean of the utility terms (0 when any term is 0, as scipy's hmean)."""
    v = np.asarray(list(values.values()) if isinstance(values, dict) else values, dtype=float)
    return 0.0 if (v <= 0).any() else float(hmean(v))


def min_k_score(token_logprobs: np.ndarray, k: float = 0.4) -> float:
    """MUSE's Min-K% statistic: minus the mean of the floor(k n) lowest token log-probs (higher = less likely text).
    MUSE's `int(len * ratio)` gives no token for texts shorter than 1/k tokens; we keep at least one."""
    lp = np.sort(np.asarray(token_logprobs, dtype=float))
    m = max(1, int(len(lp) * k))
    return float(-lp[:m].mean())


def mia_auc(forget_scores: np.ndarray, holdout_scores: np.ndarray) -> float:
    """MUSE's `sweep`: labels 0 = forget, 1 = holdout, score = -Min-K% (a member has a low Min-K%, so the un-unlearned
    model scores AUC ~ 0, the retrained one ~ 0.5)."""
    from sklearn.metrics import auc, roc_curve

    s = np.r_[np.asarray(forget_scores, dtype=float), np.asarray(holdout_scores, dtype=float)]
    y = np.r_[np.zeros(len(forget_scores)), np.ones(len(holdout_scores))]
    fpr, tpr, _ = roc_curve(y, -s)
    return float(auc(fpr, tpr))


def priv_leak(auc_unlearned: float, auc_retrain: float) -> float:
    """MUSE's PrivLeak in %, signed."""
    return (auc_unlearned - auc_retrain) / auc_retrain * 100.0


def bleu(pred: str, ref: str) -> float:
    """BLEU of one completion as FLAT's `eval_leakage_rate`: sacrebleu.corpus_bleu([pred], [[ref]]).score (13a
    tokenisation, exp smoothing, 0-100)."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu([pred], [[ref]]).score)


def gap(value: float, reference: float) -> float:
    """Absolute distance of a forget-set score to the retained (never-saw) model's score."""
    return float(abs(value - reference))
