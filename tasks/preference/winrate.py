"""Win rate and the AlpacaEval-2 length-controlled (LC) win rate (Dubois et al., 2024), implemented offline.

Preferences p_i in [0, 1] (1 = the model's output beats the baseline's, 0.5 = tie). The LC GLM (alpaca-eval's
`length_controlled_minimal` formula, i.e. without the instruction-difficulty term that needs the hub download):
    P(model wins on i) = sigmoid(theta + phi * tanh(d_i / std(d))),  d_i = len(model_i) - len(baseline_i)
fitted by maximum likelihood on the soft labels p_i (no intercept beyond theta). The LC win rate is the GLM's
prediction with the length term set to zero, averaged over instructions: 100 * sigmoid(theta).
(alpaca-eval fits the same GLM with an L1 penalty chosen by 5-fold CV; we use a tiny L2 penalty for
identifiability; tests compare the two on the same annotations.)"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def win_rate(pref: np.ndarray) -> float:
    return float(100.0 * np.mean(pref))


def lc_win_rate(pref: np.ndarray, len_model: np.ndarray, len_baseline: np.ndarray, l2: float = 1e-4) -> dict:
    p = np.asarray(pref, dtype=float)
    d = np.asarray(len_model, float) - np.asarray(len_baseline, float)
    sd = d.std(ddof=1) if len(d) > 1 else 0.0
    x = np.tanh(d / sd) if sd > 0 else np.zeros_like(d)

    def nll(params):
        th, ph = params
        z = th + ph * x
        return float(np.sum(np.logaddexp(0, -z) * p + np.logaddexp(0, z) * (1 - p)) + l2 * (th**2 + ph**2))

    def grad(params):
        th, ph = params
        s = 1 / (1 + np.exp(-(th + ph * x)))
        r = s - p
        return np.array([r.sum() + 2 * l2 * th, (r * x).sum() + 2 * l2 * ph])

    res = minimize(nll, np.zeros(2), jac=grad, method="L-BFGS-B")
    th, ph = res.x
    return {"lc_win_rate": float(100.0 / (1 + np.exp(-th))), "theta": float(th), "phi": float(ph),
            "win_rate": win_rate(p)}
