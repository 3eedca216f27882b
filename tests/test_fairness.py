import numpy as np
import pytest

from baselines.fairness.fis import influences
from bench.api import register_method
from bench.records import read_record
from bench.registry import METHODS
from bench.runner import Cell, plan, run_cell, run_sweep
from tasks.fairness import model as lr
from tasks.fairness.data import load_adult, load_compas, load_german
from tasks.fairness.tasks import ActiveView, evaluate_model, group_risk_disparity


def test_offline_datasets_have_the_documented_shapes():
    X, y, g = load_adult()
    assert X.shape[0] == 45222 and 0.2 < y.mean() < 0.3 and 0.3 < g.mean() < 0.35
    X, y, g = load_compas()
    assert X.shape[0] == 6172 and 0.4 < y.mean() < 0.5 and 0.5 < g.mean() < 0.55
    X, y, g = load_german()
    assert X.shape[0] == 1000 and y.mean() == 0.7


def test_newton_logistic_regression_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = (X @ rng.normal(size=5) + rng.normal(size=300) > 0).astype(int)
    lam = 0.05
    w = lr.fit(X, y, lam)
    sk = LogisticRegression(C=1.0 / (lam * len(y)), fit_intercept=False, tol=1e-10, max_iter=1000)
    sk.fit(lr.add_bias(X), y)
    assert np.allclose(w, sk.coef_.ravel(), atol=1e-5)


def test_risk_disparity_hand_computed():
    w = np.array([0.0, 0.0])  # p = 0.5 everywhere -> every loss is log 2 -> disparity 0
    X, y, g = np.zeros((4, 1)), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    assert group_risk_disparity(w, X, y, g) == pytest.approx(0.0)
    w = np.array([0.0, np.log(3.0)])  # p = 0.75: loss(y=1) = log(4/3), loss(y=0) = log 4
    y2 = np.array([1, 1, 0, 1])
    want = abs(np.mean([np.log(4), np.log(4 / 3)]) - np.log(4 / 3))
    assert group_risk_disparity(w, X, y2, g) == pytest.approx(want)
    m = evaluate_model(w, X, y2, g)  # predicts 1 for all: accuracy 3/4, equal positive rates -> dp 0
    assert m["accuracy"] == 0.75 and m["dp_diff"] == 0.0


def test_influence_estimate_agrees_in_sign_with_actual_retraining():
    """Add each candidate (with its pseudo-label) to the training set, refit exactly, and compare the true change in
    validation risk disparity / loss with the influence prediction."""
    rng = np.random.default_rng(3)
    d = 4
    beta = rng.normal(size=d)

    def make(n):
        g = (rng.random(n) < 0.4).astype(int)
        X = rng.normal(size=(n, d)) + 0.8 * g[:, None]
        y = (X @ beta + 0.8 * g + rng.normal(size=n) > 0).astype(int)
        return X, y, g

    Xl, yl, _ = make(60)
    Xv, yv, gv = make(400)
    Xp, _, _ = make(40)
    lam = 0.05
    w = lr.fit(Xl, yl, lam, iters=100)
    view = ActiveView(Xp, Xl, yl, Xv, yv, gv, w, lam, 5, 0)
    inf_F, inf_A = influences(view)
    pseudo = (lr.predict_proba(w, Xp) > 0.5).astype(int)
    F0 = group_risk_disparity(w, Xv, yv, gv)
    A0 = lr.losses(w, Xv, yv).mean()
    dF, dA = [], []
    for i in range(len(Xp)):
        # upweighting by 1/n approximates adding the point to the n-point set (Koh & Liang)
        w2 = lr.fit(np.vstack([Xl, Xp[i:i + 1]]), np.append(yl, pseudo[i]), lam * len(yl) / (len(yl) + 1),
                    iters=100, w0=w)
        dF.append(group_risk_disparity(w2, Xv, yv, gv) - F0)
        dA.append(lr.losses(w2, Xv, yv).mean() - A0)
    dF, dA = np.array(dF), np.array(dA)
    big = np.abs(inf_F) > np.median(np.abs(inf_F))
    assert np.mean(np.sign(inf_F[big]) == np.sign(dF[big])) >= 0.9
    assert np.corrcoef(inf_F, dF)[0, 1] > 0.9 and np.corrcoef(inf_A, dA)[0, 1] > 0.9


def test_methods_never_see_pool_groups_and_budget_is_enforced(tmp_path):
    seen = []

    def spy(view, cfg, ctx):
        seen.append(view.g_pool)
        return np.arange(view.k + 1)

    register_method("greedy_spy", "fairness.active_sampling")(spy)
    try:
        status, p = run_cell(Cell("fair-german-age", "greedy_spy", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("greedy_spy")
    assert seen == [None]
    assert status == "failed" and "the budget is k=20" in read_record(p).error


def test_full_data_reference_labels_the_whole_pool_and_is_not_ranked(tmp_path):
    status, p = run_cell(Cell("fair-german-age", "full_data", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert r.method_kind == "reference" and r.artifacts["n_labelled"] == 60 + 300


def test_fis_reduces_disparity_vs_random_on_adult(tmp_path):
    s = run_sweep(plan(tasks=["fair-adult-sex"], methods=["fis", "random_sampling"], seeds=1), tmp_path,
                  progress=False)
    rec = {read_record(p).method: read_record(p).metrics for p in s.paths}
    assert rec["fis"]["risk_disparity"].value < rec["random_sampling"]["risk_disparity"].value
    assert rec["fis"]["accuracy"].value > rec["random_sampling"]["accuracy"].value - 0.02  # without (much) harm
