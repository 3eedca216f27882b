import dataclasses

import numpy as np
import pytest

from baselines.fairness._influence import (first_order_influence, fairness_surrogate, fairness_surrogate_grad,
                                           val_loss_grad)
from baselines.fairness.fis import Config as FISConfig, fis_scores, select_negative
from bench.api import register_method
from bench.records import read_record
from bench.registry import METHODS
from bench.runner import Cell, run_cell
from tasks.fairness import model as lr
from tasks.fairness.contract import CONTRACT, ActiveView, GroupAwareView, Selection
from tasks.fairness.data import load
from tasks.fairness.tasks import evaluate_model, group_risk_disparity, model_metrics


def _toy(seed=3, n_lab=60, n_val=400, n_pool=40, d=4):
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=d)

    def make(n):
        g = (rng.random(n) < 0.4).astype(int)
        X = rng.normal(size=(n, d)) + 0.8 * g[:, None]
        y = (X @ beta + 0.8 * g + rng.normal(size=n) > 0).astype(int)
        return X, y, g

    (Xl, yl, gl), (Xv, yv, gv), (Xp, _, gp) = make(n_lab), make(n_val), make(n_pool)
    lam = 0.05
    w = lr.fit(Xl, yl, lam, iters=100)
    view = ActiveView(Xp, Xl, yl, Xv, yv, gv, w, lam, 5, 0, 5, "dp")
    return view, gp, gl


def test_offline_datasets_have_the_documented_shapes():
    X, y, g = load("adult")
    assert X.shape[0] == 45222 and 0.2 < y.mean() < 0.3 and 0.3 < g.mean() < 0.35
    X, y, g = load("compas")
    assert X.shape[0] == 6172 and 0.4 < y.mean() < 0.5 and 0.5 < g.mean() < 0.55
    X, y, g = load("german")
    assert X.shape[0] == 1000 and y.mean() == 0.7
    assert not X.flags.writeable  # cached once per process, shared read-only


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


def test_group_metrics_equal_fairlearn_on_real_predictions():
    from fairlearn.metrics import (demographic_parity_difference, equal_opportunity_difference,
                                   equalized_odds_difference)

    X, y, g = load("compas")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(y), 1500, replace=False)
    w = lr.fit(X[idx[:500]], y[idx[:500]], 1e-2)
    Xt, yt, gt = X[idx[500:]], y[idx[500:]], g[idx[500:]]
    p = lr.predict_proba(w, Xt)
    m = model_metrics(p, yt, gt)
    pred = (p > 0.5).astype(int)
    assert m["dp_diff"] == pytest.approx(demographic_parity_difference(yt, pred, sensitive_features=gt), abs=1e-12)
    assert m["eop_diff"] == pytest.approx(equal_opportunity_difference(yt, pred, sensitive_features=gt), abs=1e-12)
    assert m["eo_diff"] == pytest.approx(equalized_odds_difference(yt, pred, sensitive_features=gt), abs=1e-12)
    assert m["dp_diff"] > 0.05 and m["eo_diff"] >= m["eop_diff"]


@pytest.mark.parametrize("target", ["dp", "eop", "eod"])
def test_fairness_surrogate_gradient_matches_finite_differences(target):
    view, _, _ = _toy()
    w = view.w
    grad = fairness_surrogate_grad(w, view.X_val, view.y_val, view.g_val, target)
    eps = 1e-6
    num = np.array([(fairness_surrogate(w + eps * e, view.X_val, view.y_val, view.g_val, target)
                     - fairness_surrogate(w - eps * e, view.X_val, view.y_val, view.g_val, target)) / (2 * eps)
                    for e in np.eye(len(w))])
    assert np.allclose(grad, num, atol=1e-8) and np.abs(grad).max() > 1e-4


def test_first_order_influence_predicts_the_change_after_a_gradient_step():
    """The authors' influence is -grad l(z) . grad V: the first-order change of V after a small gradient step on z
    (no inverse Hessian). Check it against the actual step, for validation loss and the DP surrogate, both labels."""
    view, _, _ = _toy()
    w, eta = view.w, 1e-4
    G = lr.label_grads(w, view.X_pool)
    V = {"acc": (lambda v: lr.losses(v, view.X_val, view.y_val).mean(), val_loss_grad(w, view.X_val, view.y_val)),
         "dp": (lambda v: fairness_surrogate(v, view.X_val, view.y_val, view.g_val, "dp"),
                fairness_surrogate_grad(w, view.X_val, view.y_val, view.g_val, "dp"))}
    for f, grad in V.values():
        infl = first_order_influence(w, view.X_pool, grad)
        actual = np.array([[(f(w - eta * G[i, y]) - f(w)) / eta for y in (0, 1)] for i in range(len(G))])
        assert np.corrcoef(infl.ravel(), actual.ravel())[0, 1] > 0.999
        assert np.mean(np.sign(infl) == np.sign(actual)) > 0.97


def test_fis_pseudo_label_rule_equals_argmax_for_binary_models():
    """min |accuracy influence| over the two labels picks the predicted label (g(x,0) = p v, g(x,1) = -(1-p) v):
    the authors' default and their argmax ablation coincide on binary tasks."""
    view, _, _ = _toy(n_pool=300)
    s1, a1, lab1 = fis_scores(view, FISConfig())
    s2, a2, lab2 = fis_scores(view, FISConfig(pseudo_label="argmax"))
    assert (lab1 == lab2).all() and np.allclose(s1, s2)
    assert 0.2 < lab1.mean() < 0.8


def test_fis_zeroes_harmful_candidates_and_selects_only_negative_scores():
    view, _, _ = _toy(n_pool=300)
    score, acc, _ = fis_scores(view, FISConfig())
    assert (score[acc > 0] == 0).all() and (acc > 0).any()
    sel = select_negative(score, 50)
    assert len(sel) <= 50 and (score[sel] < 0).all()
    assert list(sel) == list(np.argsort(score, kind="stable")[: len(sel)])
    assert len(select_negative(np.array([0.0, 0.2, 0.0]), 2)) == 0  # nothing helpful: the round labels nothing
    raw, _, _ = fis_scores(view, FISConfig(remove_harmful=False))
    assert (raw[acc > 0] != 0).any()


def test_isal_and_jtt_selections():
    from baselines.fairness.isal import isal_scores
    from baselines.fairness.jtt import error_set, nearest_pool

    view, _, _ = _toy(n_pool=200)
    H = lr.hessian(view.w, view.X_lab, view.lam)
    pseudo = (lr.predict_proba(view.w, view.X_pool) > 0.5).astype(float)
    want = -lr.per_example_grads(view.w, view.X_pool, pseudo) @ np.linalg.solve(
        H, lr.mean_loss_grad(view.w, view.X_val, view.y_val))
    assert np.allclose(isal_scores(view), want)
    err = error_set(view, np.random.default_rng(0))
    pred = (lr.predict_proba(view.w, view.X_lab) > 0.5).astype(int)
    assert len(err) and (pred[err] != view.y_lab[err]).all()
    picks = nearest_pool(view, err)
    assert len(picks) == view.k and len(set(picks)) == view.k
    d = ((view.X_pool - view.X_lab[err[0]]) ** 2).sum(1)
    assert picks[0] == np.argmin(d)  # the first error example's nearest pool neighbour


def test_methods_get_no_groups_unless_privileged_and_the_budget_is_a_maximum(tmp_path):
    seen = []

    def spy(view, cfg, ctx):
        seen.append(type(view))
        return np.arange(view.k + 1) if view.round == 1 else np.arange(view.k // 2)

    def oracle_spy(view, cfg, ctx):
        seen.append((view.g_pool.copy(), view.g_lab.copy()))
        return np.arange(view.k)

    register_method("greedy_spy", "fairness.active_sampling")(spy)
    register_method("oracle_spy", "fairness.active_sampling", kind="oracle", privileges={"pool_groups"})(oracle_spy)
    try:
        status, p = run_cell(Cell("fair-german-age", "greedy_spy", 0, smoke=True), tmp_path)
        assert seen == [ActiveView, ActiveView]  # round 0 spends half the budget (allowed), round 1 overspends
        assert status == "failed" and "round 1: selected 21 examples, the budget is k=20" in read_record(p).error
        assert not hasattr(ActiveView, "g_pool")
        status, p = run_cell(Cell("fair-german-age", "oracle_spy", 0, smoke=True), tmp_path)
        assert status == "smoke"
        g_pool, g_lab = seen[2]
        assert len(g_pool) == 300 and len(g_lab) == 60 and 0 < g_pool.mean() < 1
        register_method("cheat_spy", "fairness.active_sampling", privileges={"pool_groups"})(oracle_spy)
        with pytest.raises(Exception, match="reveals hidden truth"):
            run_cell(Cell("fair-german-age", "cheat_spy", 0, smoke=True), tmp_path)
    finally:
        for m in ("greedy_spy", "oracle_spy", "cheat_spy"):
            if m in METHODS:
                METHODS.remove(m)


def test_own_model_needs_the_privilege():
    fit = lambda X, y: (lambda Xq: np.full(len(Xq), 0.5))  # noqa: E731
    with pytest.raises(Exception, match="own_model"):
        CONTRACT.check_output(Selection(np.arange(3), fit=fit), pool_size=10, k=5)
    CONTRACT.check_output(Selection(np.arange(3), fit=fit), pool_size=10, k=5, own_model=True)
    with pytest.raises(Exception, match="repeat"):
        CONTRACT.check_output(np.array([1, 1]), pool_size=10, k=5)
    assert issubclass(GroupAwareView, ActiveView) and "g_pool" in {f.name for f in dataclasses.fields(GroupAwareView)}


def test_change_vs_random_is_paired_and_method_independent(tmp_path):
    """Every method's cell computes the same random-sampling reference for a data seed (the mean of
    random_reference_draws method-independent draws); a method that replays draw 0 scores a change of exactly 0 when
    the reference is that single draw."""
    from tasks.fairness.tasks import ActiveSampling

    def replay(view, cfg, ctx):  # re-derives the task's own random draw 0 (one generator across rounds)
        key = ("replay", ctx.seed_index)
        if view.round == 0:
            _REPLAY[key] = np.random.default_rng([ctx.data_seed % (2**63), 0x5EED, 0])
        return _REPLAY[key].choice(len(view.X_pool), size=view.k, replace=False)

    register_method("replay_random", "fairness.active_sampling")(replay)
    try:
        recs = {}
        for m, draws in (("replay_random", 1), ("replay_random", 5), ("isal", 5), ("entropy_sampling", 5)):
            status, p = run_cell(Cell("fair-german-age", m, 1, smoke=True,
                                      task_overrides=(("random_reference_draws", draws),)), tmp_path)
            recs[(m, draws)] = read_record(p).metrics
    finally:
        METHODS.remove("replay_random")
    assert recs[("replay_random", 1)]["accuracy_change_vs_random"].value == 0.0
    assert recs[("replay_random", 1)]["disparity_change_vs_random"].value == 0.0
    assert recs[("replay_random", 5)]["accuracy_change_vs_random"].value != 0.0  # a 5-draw mean now
    base = {k: r["accuracy"].value - r["accuracy_change_vs_random"].value for k, r in recs.items() if k[1] == 5}
    assert len({round(v, 12) for v in base.values()}) == 1
    assert ActiveSampling.metrics[4].range == (-1.0, 1.0)


_REPLAY: dict = {}


def test_full_data_reference_and_fair_training_reference(tmp_path):
    status, p = run_cell(Cell("fair-german-age", "full_data", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert r.method_kind == "reference" and r.artifacts["n_labelled"] == 60 + 300
    assert r.metrics["budget_used"].value == pytest.approx(300 / 40)
    status, p = run_cell(Cell("fair-german-age", "fair_training_eg", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert status == "smoke", r.error
    assert r.method_kind == "reference" and r.artifacts["n_labelled"] == 60 + 40
    # the final metrics are the fair model's, not the logistic regression's on the same labels
    assert r.artifacts["curve"][-1] == {k: r.metrics[k].value for k in r.artifacts["curve"][-1]}


def test_fis_beats_random_on_dp_without_much_harm_on_adult(tmp_path):
    """Two seeds of the adult task at reduced size: FIS lowers test DP against the paired random trajectory."""
    over = (("n_test", 2000), ("pool_max", 1500))
    ch = []
    for i in range(2):
        status, p = run_cell(Cell("fair-adult-sex", "fis", i, task_overrides=over), tmp_path)
        m = read_record(p).metrics
        ch.append((m["disparity_change_vs_random"].value, m["accuracy_change_vs_random"].value))
    ch = np.array(ch)
    assert (ch[:, 0] < 0).all() and ch[:, 1].mean() > -0.02


def test_influence_risk_gap_variant_agrees_in_sign_with_actual_retraining():
    """The pre-v2 variant (inverse-Hessian influence on the validation log-loss gap) against exact refits."""
    from baselines.fairness.influence_risk_gap import influences

    view, _, _ = _toy()
    Xl, yl, Xp, lam, w = view.X_lab, view.y_lab, view.X_pool, view.lam, view.w
    Xv, yv, gv = view.X_val, view.y_val, view.g_val
    inf_F, inf_A = influences(view)
    pseudo = (lr.predict_proba(w, Xp) > 0.5).astype(int)
    F0, A0 = group_risk_disparity(w, Xv, yv, gv), lr.losses(w, Xv, yv).mean()
    dF, dA = [], []
    for i in range(len(Xp)):
        w2 = lr.fit(np.vstack([Xl, Xp[i:i + 1]]), np.append(yl, pseudo[i]), lam * len(yl) / (len(yl) + 1),
                    iters=100, w0=w)
        dF.append(group_risk_disparity(w2, Xv, yv, gv) - F0)
        dA.append(lr.losses(w2, Xv, yv).mean() - A0)
    dF, dA = np.array(dF), np.array(dA)
    big = np.abs(inf_F) > np.median(np.abs(inf_F))
    assert np.mean(np.sign(inf_F[big]) == np.sign(dF[big])) >= 0.9
    assert np.corrcoef(inf_F, dF)[0, 1] > 0.9 and np.corrcoef(inf_A, dA)[0, 1] > 0.9


def test_task_variant_refuses_another_fairness_notion_and_config_is_documented(tmp_path):
    from tasks.fairness.tasks import FairConfig

    assert all(f.description for f in FairConfig.model_fields.values())
    status, p = run_cell(Cell("fair-german-age", "random_sampling", 0, smoke=True,
                              task_overrides=(("fairness_target", "eop"),)), tmp_path)
    assert status == "failed" and "register a task variant" in read_record(p).error


def test_label_nothing_keeps_the_start_model(tmp_path):
    status, p = run_cell(Cell("fair-german-age", "label_nothing", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert r.metrics["budget_used"].value == 0.0 and r.artifacts["n_labelled"] == 60
    assert all(c == r.artifacts["curve"][0] for c in r.artifacts["curve"])
