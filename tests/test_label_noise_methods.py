"""Label-noise families: the contract, and each method fixed against its authors' procedure (issue #18). Each test
names the behaviour it guards; the v1 code fails each of them."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.contract import ContractError
from bench.registry import METHODS, TASKS, discover
from bench.runner import Cell, run_cell
from tasks.common import noise
from tasks.label_noise.contract import DETECTION, ROBUST, ClassPredictions, DetectionOutput
from tasks.label_noise.data import load_features

discover()


def _view(X, y, K, X_test=None, y_clean=None):
    from tasks.label_noise.contract import NoisyLabelView

    return NoisyLabelView(X, y, K, X if X_test is None else X_test, y_clean)


def _ctx(seed=0, smoke=False):
    arts = {}
    return SimpleNamespace(seed=seed, smoke=smoke, rng=np.random.default_rng(seed), artifacts=arts,
                           add_artifact=lambda k, v: arts.__setitem__(k, v))


def _digits_sym(n, rate, seed=0):
    X, y = load_features("digits")
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    X, y = X[idx], y[idx]
    return X, y, noise.symmetric(y, rate, 10, np.random.default_rng(seed + 1))


# -- contract ------------------------------------------------------------------------------------------------------
def test_methods_see_no_clean_or_test_labels_and_the_oracle_is_granted_clean_labels(tmp_path):
    from bench.api import register_method

    seen = {}

    def spy(data, cfg, ctx):
        seen[ctx.method] = (set(vars(data)), data.y_clean is not None)
        return np.zeros(len(data.X_test), dtype=np.int64)

    register_method("spy_ln", "label_noise.robust")(spy)
    register_method("spy_ln_oracle", "label_noise.robust", kind="oracle", privileges={"y_clean"})(spy)
    try:
        for m in ("spy_ln", "spy_ln_oracle"):
            assert run_cell(Cell("adc-robust-digits-sym40", m, 0, smoke=True), tmp_path)[0] == "smoke"
    finally:
        METHODS.remove("spy_ln")
        METHODS.remove("spy_ln_oracle")
    assert seen["spy_ln"] == ({"X", "y", "n_classes", "X_test", "y_clean"}, False)
    assert seen["spy_ln_oracle"][1] is True
    assert METHODS.get("ce_clean").kind == "oracle"  # the only method holding the privilege is never ranked


@pytest.mark.parametrize("out, msg", [
    (DetectionOutput(np.zeros(5), np.zeros(5, dtype=int)), "flags must be a bool array"),
    (DetectionOutput(np.zeros(4), np.zeros(5, dtype=bool)), "one score and one flag per training example"),
    (DetectionOutput(np.array([0, np.nan, 0, 0, 0]), np.zeros(5, dtype=bool)), "scores must be finite"),
    (np.zeros(5), "must return DetectionOutput"),
])
def test_detection_contract_names_what_is_wrong(out, msg):
    with pytest.raises(ContractError, match=msg):
        DETECTION.check_output(out, n=5)


def test_prediction_contract_coerces_arrays_and_names_what_is_wrong():
    assert isinstance(ROBUST.check_output(np.array([0, 1]), n=2, n_classes=3), ClassPredictions)
    with pytest.raises(ContractError, match=r"lie in \[0, 3\)"):
        ROBUST.check_output(np.array([0, 3]), n=2, n_classes=3)
    with pytest.raises(ContractError, match="integer class labels"):
        ROBUST.check_output(np.array([0.0, 1.0]), n=2, n_classes=3)


def test_every_label_noise_method_passes_its_contract_on_a_smoke_task(tmp_path):
    smoke_task = {"label_noise.detection": "adc-detect-digits-sym40", "label_noise.robust": "adc-robust-digits-sym40",
                  "label_noise.imbalance": "adc-imb-digits-r50"}
    ran = 0
    for name, m in METHODS.items():
        for fam in m.family:
            if fam in smoke_task:
                status, p = run_cell(Cell(smoke_task[fam], name, 0, smoke=True), tmp_path)
                assert status == "smoke", json.loads(p.read_text())["error"]
                ran += 1
    assert ran >= 22


def test_renamed_tasks_and_honest_dataset_texts():
    names = {n for n, t in TASKS.items() if t.family.startswith("label_noise.")}
    assert not {"adc-detect-digits-human", "adc-robust-digits-human"} & names
    assert {"adc-detect-digits-c10n-transition", "adc-robust-digits-c10n-transition", "adc-detect-vader-human",
            "adc-robust-vader-human"} <= names
    for n in names:
        t = TASKS.get(n)
        text = f"{t.dataset.id} {t.dataset.offline_default}"
        assert "Clothing" not in text and "100N" not in text, n
        assert t.default_seeds >= 10 and t.full_suite_seeds == 3


def test_human_noise_on_digits_is_refused_and_points_to_the_transition(tmp_path):
    status, p = run_cell(Cell("adc-detect-digits-sym40", "random_detector", 0, smoke=True,
                              task_overrides=(("noise", "human"),)), tmp_path)
    assert status == "failed" and "noise=cifar10n_transition" in json.loads(p.read_text())["error"]


# -- VADER: real per-token human labels ------------------------------------------------------------------------------
def test_vader_labels_leave_the_noisy_rater_out_of_the_clean_label():
    from tasks.label_noise import vader

    # 6 raters say positive, 3 neutral, 1 negative: whoever is drawn, the clean label is the others' majority
    ratings = np.array([[2, 2, 1, 3, 1, 2, 0, 0, 0, -2]] * 400)
    clean, noisy = vader.human_labels(ratings, np.random.default_rng(0), "random")
    assert (clean == 2).all() and set(np.unique(noisy)) == {0, 1, 2}
    clean, noisy = vader.human_labels(ratings, np.random.default_rng(0), "worst")
    assert (noisy != 2).all()  # the worst rater is always a dissenter when there is one
    tokens, R = vader.vader_ratings()
    assert R.shape == (7520, 10) and len(tokens) == 7520
    c, nz = vader.human_labels(R, np.random.default_rng(0), "random")
    assert 0.15 < np.mean(c != nz) < 0.18  # real rater disagreement, 16.4 %
    E = vader.embeddings(None)  # the committed asset, checked against the lexicon's token hash
    assert E.shape == (7520, 384) and np.allclose(np.linalg.norm(E[:50], axis=1), 1, atol=1e-2)


# -- AUM: every example scored (two runs, disjoint threshold sets) ---------------------------------------------------
def test_aum_threshold_sets_are_disjoint_and_every_example_is_scored_and_can_be_flagged():
    from baselines.label_noise.aum import combine_runs, threshold_sets

    a, b = threshold_sets(1100, 10, np.random.default_rng(0))
    assert a.sum() == b.sum() == 100 and not (a & b).any()
    rng = np.random.default_rng(1)
    aums = [rng.normal(2, 1, 1100), rng.normal(2, 1, 1100)]
    aums[0][a], aums[1][b] = -3.0, -3.0  # threshold samples sit low
    aums[0][:10], aums[1][:10] = -5.0, -5.0  # ten mislabelled-looking examples, wherever they are
    scores, flags = combine_runs(aums, [a, b], 99.0)
    both = a | b
    assert np.isfinite(scores).all() and flags[:10].all() and (flags & both).any()
    assert np.allclose(scores[a], -aums[1][a]) and np.allclose(scores[~both], -(aums[0] + aums[1])[~both] / 2)


def test_aum_recall_is_not_capped_by_the_threshold_samples():
    from baselines.label_noise.aum import Config, aum

    X, clean, y = _digits_sym(700, 0.4)
    out = aum(_view(X, y, 10), Config(epochs=12), _ctx(3))
    bad = y != clean
    recall = (out.flags & bad).sum() / bad.sum()
    assert recall > 1 - 1 / 11 + 0.02, recall  # v1 never flagged its 1/(K+1) threshold samples


# -- logit adjustment (post-hoc, tuned tau) vs balanced softmax (loss-time) ------------------------------------------
def test_balanced_softmax_is_the_logit_adjusted_loss_at_tau_1():
    from baselines.label_noise.balanced_softmax import balanced_softmax_loss

    torch.manual_seed(0)
    lg, y, counts = torch.randn(16, 5), torch.randint(0, 5, (16,)), torch.tensor([50.0, 20, 8, 3, 1])
    la_loss = F.cross_entropy(lg + 1.0 * torch.log(counts / counts.sum()), y)
    assert torch.allclose(balanced_softmax_loss(lg, y, torch.log(counts)), la_loss)  # the reason v1 rows were twins


def test_logit_adjustment_is_post_hoc_on_a_plain_ce_model_with_tau_tuned_on_held_out_data():
    from baselines.label_noise._common import seed32, train
    from baselines.label_noise.logit_adjustment import Config, logit_adjustment
    from tasks.label_noise.data import long_tail_subsample

    X, y = load_features("digits")
    keep = long_tail_subsample(y, 30.0, np.random.default_rng(0), 10)
    Xtr, ytr = X[keep], y[keep]
    cfg, ctx = Config(epochs=8, tau_grid=[1.0]), _ctx(5)
    pred = logit_adjustment(_view(Xtr, ytr, 10, X_test=X), cfg, ctx)
    # the training is plain CE (same seed, budget and batch size); only the prediction is adjusted
    ce = train(Xtr, ytr, 10, seed32(ctx), epochs=8, lr=cfg.lr, batch_size=cfg.batch_size, hidden=cfg.hidden)
    with torch.no_grad():
        logits = ce(torch.as_tensor(X)).numpy()
    log_prior = np.log(np.bincount(ytr, minlength=10) / len(ytr))
    assert (pred == np.argmax(logits - log_prior, axis=1)).all()
    ctx2 = _ctx(5)
    logit_adjustment(_view(Xtr, ytr, 10, X_test=X), Config(epochs=8), ctx2)
    assert ctx2.artifacts["tau"] in Config().tau_grid and len(ctx2.artifacts["holdout_balanced_accuracy"]) == 10


# -- LDAM-DRW ------------------------------------------------------------------------------------------------------
def test_ldam_uses_a_cosine_classifier_and_defers_reweighting_to_80_percent():
    from baselines.label_noise.ldam_drw import Config, cosine_mlp, drw_switch_epoch, ldam_loss, ldam_margins

    torch.manual_seed(0)
    out = cosine_mlp(64, 10, 32)(torch.randn(50, 64) * 100)
    assert out.abs().max() <= 1 + 1e-5  # normed linear layer: logits are cosines
    assert drw_switch_epoch(Config().epochs, Config().drw_fraction) == 32  # 80 % of 40 (authors: 160 of 200)
    m = ldam_margins(torch.tensor([16.0, 1.0]), 0.5)
    assert torch.allclose(m, torch.tensor([0.25, 0.5]))
    cos, y = torch.tensor([[0.5, 0.2], [0.1, 0.9]]), torch.tensor([0, 1])
    ref = F.cross_entropy(30 * torch.tensor([[0.25, 0.2], [0.1, 0.4]]), y)
    assert torch.allclose(ldam_loss(cos, y, m, 30.0), ref)


# -- HOC and SimiFeat rank ---------------------------------------------------------------------------------------------
def test_hoc_recovers_a_known_transition_matrix_on_clusterable_features():
    from baselines.label_noise._hoc import estimate_transition

    rng = np.random.default_rng(0)
    K, n = 4, 4000
    T = np.array([[0.7, 0.2, 0.1, 0.0], [0.1, 0.8, 0.0, 0.1], [0.0, 0.15, 0.75, 0.1], [0.2, 0.0, 0.1, 0.7]])
    clean = rng.integers(0, K, n)
    centers = rng.normal(size=(K, 16)) * 5
    F_ = centers[clean] + rng.normal(size=(n, 16)) * 0.5
    y = noise.transition(clean, T, rng)
    T_est, p_est = estimate_transition(F_, y, K, np.random.default_rng(1), sample_size=n, rounds=1)
    err = np.abs(T_est - T).sum() / K  # the authors' L11 error per row
    assert err < 0.1, (err, np.round(T_est, 2))
    assert np.allclose(p_est, np.bincount(clean, minlength=K) / n, atol=0.03)


def test_simifeat_rank_takes_its_per_class_counts_from_hoc(monkeypatch):
    import baselines.label_noise.simifeat as sf

    X, clean, y = _digits_sym(600, 0.1)
    K = 10
    T, p = np.full((K, K), 0.3 / 9), np.full(K, 0.1)
    np.fill_diagonal(T, 0.7)  # HOC says: 30 % of every class is corrupted (the vote flags ~ 10 %)
    monkeypatch.setattr(sf, "estimate_transition", lambda *a, **k: (T, p))
    out = sf.simifeat(_view(X, y, K), sf.Config(rounds=3), _ctx(0))
    share = np.array([out.flags[y == k].mean() for k in range(K)])
    noisy_prior = np.bincount(y, minlength=K) / len(y)
    expected = 1 - 0.7 * 0.1 / noisy_prior
    assert np.allclose(share, expected, atol=0.08), (share, expected)


# -- CORES ---------------------------------------------------------------------------------------------------------
def test_cores_schedule_and_sieve_statistic():
    from baselines.label_noise._cores import CoresConfig, beta_at, cores_terms

    cfg = CoresConfig()
    assert [beta_at(e, 100, cfg) for e in (0, 9, 10, 25, 40, 99)] == pytest.approx([0, 0, 0, 1.0, 2.0, 2.0])
    logits, y = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 4.0, 0.0]]), torch.tensor([0, 1, 0])
    ce, reg, sel = cores_terms(logits, y, torch.tensor([0.5, 0.25, 0.25]))
    all_ce = -torch.log(torch.softmax(logits, 1) + 1e-8)
    assert torch.allclose(sel, ce - all_ce.mean(1)) and sel[0] < 0 < sel[2] and abs(sel[1]) < 1e-5
    assert torch.allclose(reg, (all_ce * torch.tensor([0.5, 0.25, 0.25])).sum(1))


# -- DivideMix's co-divide -------------------------------------------------------------------------------------------
def test_dividemix_gmm_clean_probability_separates_corrupted_examples():
    from baselines.label_noise._common import train
    from baselines.label_noise.dividemix import clean_probability
    from sklearn.metrics import roc_auc_score

    X, clean, y = _digits_sym(600, 0.4)
    warm = train(X, y, 10, 0, epochs=5)
    w = clean_probability(warm, torch.as_tensor(X), torch.as_tensor(y), 0)
    assert roc_auc_score(y == clean, w) > 0.85 and 0.3 < (w > 0.5).mean() < 0.8


# -- peer loss as the authors run it ---------------------------------------------------------------------------------
def test_peer_loss_uses_the_bounded_stable_ce_the_alpha_schedule_and_independent_peer_batches():
    from baselines.label_noise.peer_loss import Config, alpha_at, peer_indices, stable_ce

    far = torch.tensor([[100.0, -100.0]])
    assert stable_ce(far, torch.tensor([1]), 1e-5) <= -np.log(1e-5) + 1e-4  # bounded peer term
    assert F.cross_entropy(far, torch.tensor([1])) > 100  # the plain CE v1 subtracted is not
    cfg = Config()
    a = [alpha_at(e, 300, cfg) for e in (0, 19, 20, 30, 40, 50, 100, 200, 299)]
    assert a[:2] == [0.0, 0.0] and a[2:] == pytest.approx([0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 19.9], abs=1e-3)
    assert alpha_at(60, 300, Config(alpha=0.5)) == pytest.approx(0.5 * 2.6)
    assert alpha_at(100, 300, Config(schedule="constant", alpha=0.7)) == 0.7
    g = torch.Generator().manual_seed(0)
    i1, i2 = peer_indices(g, 1000, 64)
    assert len(set(i1.tolist())) == 64 and (i1 != i2).float().mean() > 0.9  # features and labels from two batches
