"""Win rate and AlpacaEval 2's length-controlled (LC) win rate (Dubois et al., 2024), as alpaca_eval computes them.

Input: per instruction, the judge's preference p_i in [0, 1] = P(the model's output beats the baseline's) (0.5 = tie;
alpaca_eval's `preference` column is 1 + p_i) and the two outputs' lengths in characters.

`lc_win_rate` reproduces `alpaca_eval.metrics.glm_winrate.get_length_controlled_winrate` with its
`length_controlled_minimal` GLM (the formula without the instruction-difficulty term, which exists only for
AlpacaEval's own 805 instructions):
- feature: tanh(d_i / sd(d)), d_i = len(baseline_i) - len(model_i) (alpaca_eval's output_1 - output_2; sd with
  ddof = 1), plus a constant column (`not_gamed_baseline`), no other intercept;
- fit: sklearn `LogisticRegressionCV` with an L1 penalty (liblinear, no intercept, random_state 123, the default
  10 values of C), on soft labels: every instruction appears twice, as label 1 with weight p_i and as label 0 with
  weight 1 - p_i, 5-fold `GroupKFold` over instructions, C chosen by the log loss against the soft labels;
- LC = 100 * mean_i P(win | length difference 0) = 100 * sigmoid(coefficient of the constant).
So with little data the L1 penalty can shrink everything to 0 and LC is exactly 50 -- as in alpaca_eval.
`alpaca_eval_lc_win_rate` calls alpaca_eval's own function (its hub download of instruction difficulties replaced by
a local all-zero table, which the minimal GLM does not use) -- the tests check that both agree.
When all length differences are equal (sd = 0) alpaca_eval divides by zero; we set the feature to 0 there (no
length information), so LC is the intercept-only fit.
"""
from __future__ import annotations

import contextlib
import tempfile
import warnings
from pathlib import Path

import numpy as np


def win_rate(pref: np.ndarray) -> float:
    return float(100.0 * np.mean(np.asarray(pref, dtype=float)))


def _continuous_logloss(y_true, y_pred, true_prob):
    # the scorer sees the duplicated rows' 0/1 labels; the target is the soft label p_i on both copies
    y = np.where(np.asarray(y_true) == 1, true_prob, 1 - np.asarray(true_prob))
    q = np.clip(np.asarray(y_pred), 1e-15, 1 - 1e-15)
    return -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))


def _logistic_cv(n_splits: int):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    scorer = make_scorer(_continuous_logloss, response_method="predict_proba", greater_is_better=False)
    scorer = scorer.set_score_request(true_prob=True)
    kw = dict(cv=GroupKFold(n_splits=n_splits), scoring=scorer, random_state=123, dual=False, solver="liblinear",
              n_jobs=None, fit_intercept=False)
    try:
        return LogisticRegressionCV(penalty="l1", **kw)
    except TypeError:  # scikit-learn >= 1.10 removed `penalty`
        return LogisticRegressionCV(l1_ratios=(1.0,), **kw)


def lc_win_rate(pref, len_model, len_baseline, n_splits: int = 5) -> dict:
    """{'lc_win_rate', 'win_rate', 'length_coef', 'intercept'}: alpaca_eval's LC win rate (minimal GLM)."""
    import sklearn

    p = np.asarray(pref, dtype=float)
    if p.ndim != 1 or len(p) == 0 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError("pref must be a non-empty 1-D array of probabilities in [0, 1]")
    d = np.asarray(len_baseline, dtype=float) - np.asarray(len_model, dtype=float)
    sd = d.std(ddof=1) if len(d) > 1 else 0.0
    x = np.tanh(d / sd) if sd > 0 else np.zeros_like(d)
    n = len(p)
    if n < 2:
        raise ValueError("the LC win rate needs at least 2 judged instructions")
    n_splits = min(n_splits, n)  # alpaca_eval's 5 folds need 5 instructions; fewer (smoke sizes): one per fold
    X = np.column_stack([x, np.ones(n)])
    X2 = np.vstack([X, X])
    y2 = np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)])
    prob = np.concatenate([p, 1 - p])  # soft label of each duplicated row's own class
    groups = np.concatenate([np.arange(n), np.arange(n)])
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = _logistic_cv(n_splits)
        model.set_fit_request(sample_weight=True)
        model.fit(X2, y2, sample_weight=prob, groups=groups, true_prob=prob)
    coef_len, coef_const = (float(c) for c in model.coef_[0])
    lc = 100.0 / (1.0 + np.exp(-coef_const))
    return {"lc_win_rate": float(lc), "win_rate": win_rate(p), "length_coef": coef_len, "intercept": coef_const}


@contextlib.contextmanager
def _zero_difficulty_table(n: int):
    """alpaca_eval's GLM module with its hub download replaced by a local table of zero difficulties."""
    import pandas as pd
    from unittest import mock

    import alpaca_eval.metrics.glm_winrate as glm

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "df_gamed.csv"
        pd.DataFrame({"index": range(n), "instruction_difficulty": 0.0, "model": "none"}).to_csv(path, index=False)
        with mock.patch.object(glm, "hf_hub_download", lambda *a, **k: str(path)):
            yield glm


def alpaca_eval_lc_win_rate(pref, len_model, len_baseline) -> dict:
    """alpaca_eval's own `get_length_controlled_winrate` (minimal GLM) on the same annotations (needs alpaca-eval;
    used to check `lc_win_rate`). Restores scikit-learn's global metadata-routing flag, which alpaca_eval sets."""
    import pandas as pd
    import sklearn

    p = np.asarray(pref, dtype=float)
    lm = np.asarray(len_model, dtype=int)
    lb = np.asarray(len_baseline, dtype=int)
    df = pd.DataFrame({"index": range(len(p)), "output_1": ["x" * int(v) for v in lb],
                       "output_2": ["x" * int(v) for v in lm], "preference": 1.0 + p,
                       "generator_1": "baseline", "generator_2": "model", "annotator": "judge"})
    routing = sklearn.get_config()["enable_metadata_routing"]
    try:
        with _zero_difficulty_table(len(p)) as glm, warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            out = glm.get_length_controlled_winrate(df, glm_name="length_controlled_minimal", save_weights_dir=None,
                                                    is_warn_extreme_changes=False)
    finally:
        sklearn.set_config(enable_metadata_routing=routing)
    return {"lc_win_rate": float(out["length_controlled_winrate"]), "win_rate": float(out["win_rate"])}
