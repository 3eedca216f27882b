import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines.label_noise.confident_learning import confident_learning_flags
from baselines.label_noise._common import cross_val_probs
from baselines.label_noise._imbalance import effective_number_weights
from baselines.label_noise.focal import focal_loss
from baselines.label_noise.forward_correction import estimate_T
from baselines.label_noise.gce import gce_loss
from baselines.label_noise.ldam_drw import ldam_margins
from bench.errors import DataUnavailable
from bench.records import read_record
from bench.runner import Cell, plan, run_cell, run_sweep
from tasks.common import noise
from tasks.label_noise.data import load_features, long_tail_counts
from tasks.label_noise.metrics import detection_metrics, shot_accuracies


# -- generators ---------------------------------------------------------------------------------------------------
def test_symmetric_noise_rate_and_always_another_class():
    y = np.repeat(np.arange(10), 20000)
    yn = noise.symmetric(y, 0.4, 10, np.random.default_rng(0))
    flipped = yn != y
    assert abs(flipped.mean() - 0.4) < 0.01
    T = noise.empirical_transition(y, yn, 10)
    off = T[~np.eye(10, dtype=bool)]
    assert np.allclose(off, 0.4 / 9, atol=0.01)  # uniform over the 9 other classes


def test_asymmetric_is_a_pair_flip():
    y = np.repeat(np.arange(5), 1000)
    yn = noise.asymmetric(y, 0.3, 5, np.random.default_rng(1))
    assert set(zip(y[yn != y] % 5, yn[yn != y])) == {(k, (k + 1) % 5) for k in range(5)}
    assert abs((yn != y).mean() - 0.3) < 0.02


def test_instance_dependent_rate_and_determinism():
    X, y = load_features("digits")
    a = noise.instance_dependent(y, X, 0.3, 10, np.random.default_rng(3))
    b = noise.instance_dependent(y, X, 0.3, 10, np.random.default_rng(3))
    assert (a == b).all() and abs((a != y).mean() - 0.3) < 0.03


def test_transition_sampling_matches_T():
    T = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    y = np.repeat(np.arange(3), 20000)
    est = noise.empirical_transition(y, noise.transition(y, T, np.random.default_rng(0)), 3)
    assert np.allclose(est, T, atol=0.01)


def test_cifar10n_human_transition_matches_the_paper_noise_rates():
    d = noise.cifar_n_labels("CIFAR-10")
    assert len(d["clean_label"]) == 50000
    # CIFAR-10N paper: aggregate 9.03%, random1 17.23%, worst 40.21%
    for key, rate in (("aggre_label", 0.0903), ("random_label1", 0.1723), ("worse_label", 0.4021)):
        assert abs((d[key] != d["clean_label"]).mean() - rate) < 0.001
    T = noise.cifar10n_transition("worse_label")
    assert np.allclose(T.sum(1), 1) and abs(1 - T.diagonal().mean() - 0.402) < 0.01


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match="1-D integer"):
        noise.symmetric(np.zeros((3, 2), dtype=int), 0.1, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"lie in \[0, 10\)"):
        noise.symmetric(np.array([0, 11]), 0.1, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="row-stochastic"):
        noise.transition(np.array([0]), np.array([[0.5, 0.4], [0, 1]]), np.random.default_rng(0))


def test_long_tail_profile():
    c = long_tail_counts(100, 10, 50)
    assert c[0] == 100 and c[-1] == 2 and (np.diff(c) <= 0).all()


# -- metrics (hand-computed; scikit-learn agrees with the hand-written formulas it replaced) ----------------------
def _handwritten_prf(flags, truth):
    tp, fp, fn = int((flags & truth).sum()), int((flags & ~truth).sum()), int((~flags & truth).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _handwritten_balanced(y_true, y_pred, K):
    return float(np.nanmean([np.mean(y_pred[y_true == k] == k) if (y_true == k).any() else np.nan for k in range(K)]))


def test_detection_metrics_hand_computed_and_equal_to_the_handwritten_formulas():
    m = detection_metrics(np.array([1, 1, 0, 0], bool), np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0], bool))
    assert m == {"f1": 0.5, "precision": 0.5, "recall": 0.5, "auroc": 0.75}
    m = detection_metrics(np.zeros(3, bool), np.zeros(3), np.array([1, 0, 0], bool))
    assert m["precision"] == 0.0 and m["f1"] == 0.0 and m["auroc"] == 0.5
    assert detection_metrics(np.zeros(2, bool), np.zeros(2), np.zeros(2, bool))["auroc"] is None
    rng = np.random.default_rng(0)
    for n, rate in ((50, 0.1), (300, 0.4), (7, 0.0), (40, 1.0)):
        truth, flags = rng.random(n) < 0.3, rng.random(n) < rate
        m = detection_metrics(flags, rng.random(n), truth)
        assert np.allclose((m["precision"], m["recall"], m["f1"]), _handwritten_prf(flags, truth))


def test_shot_accuracies_hand_computed_and_balanced_accuracy_equals_the_handwritten_one():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 0, 0, 0])
    r = shot_accuracies(y_true, y_pred, np.array([150, 50, 5]))
    assert r == {"accuracy": 0.5, "balanced_accuracy": 0.5, "many_shot": 1.0, "medium_shot": 0.5, "few_shot": 0.0}
    assert shot_accuracies(y_true, y_pred, np.array([150, 150, 150]))["few_shot"] is None
    rng = np.random.default_rng(1)
    yt, yp = rng.integers(0, 6, 200), rng.integers(0, 7, 200)  # a class absent from y_true, one only predicted
    yt[yt == 5] = 4
    assert np.isclose(shot_accuracies(yt, yp, np.full(7, 50))["balanced_accuracy"], _handwritten_balanced(yt, yp, 7))


# -- losses against their definitions ------------------------------------------------------------------------------
def test_losses_reduce_to_known_cases():
    torch.manual_seed(0)
    lg, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    p = torch.softmax(lg, 1)[torch.arange(8), y]
    assert torch.allclose(gce_loss(lg, y, 1.0), (1 - p).mean())  # q = 1: MAE
    assert torch.allclose(gce_loss(lg, y, 1e-4), F.cross_entropy(lg, y), atol=1e-3)  # q -> 0: CE
    assert torch.allclose(focal_loss(lg, y, 0.0), F.cross_entropy(lg, y))
    assert torch.allclose(focal_loss(lg, y, 2.0), (-(1 - p) ** 2 * p.log()).mean())
    w = effective_number_weights(torch.tensor([100.0, 10.0]), 0.9)
    raw = torch.tensor([0.1 / (1 - 0.9**100), 0.1 / (1 - 0.9**10)])
    assert torch.allclose(w, raw / raw.sum() * 2)
    m = ldam_margins(torch.tensor([16.0, 1.0]), 0.5)
    assert torch.allclose(m, torch.tensor([0.25, 0.5]))


def test_anchor_point_T_recovers_a_known_transition():
    T = np.array([[0.6, 0.4], [0.2, 0.8]])
    clean = np.array([[1.0, 0.0]] * 50 + [[0.0, 1.0]] * 50 + [[0.5, 0.5]] * 10)
    assert np.allclose(estimate_T(clean @ T, 97.0), T)


# -- Confident Learning == cleanlab on the same pred_probs --------------------------------------------------------
def test_confident_learning_flags_equal_cleanlab():
    from cleanlab.filter import find_label_issues

    rng = np.random.default_rng(0)
    for trial in range(5):
        n, K = 400, 6
        labels = rng.integers(0, K, n)
        logits = rng.normal(size=(n, K)) + 2.5 * np.eye(K)[labels] * (rng.random(n) > 0.3)[:, None]
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        ref = find_label_issues(labels, probs, filter_by="confident_learning")
        assert (confident_learning_flags(labels, probs) == ref).all()
    X, y = load_features("digits")
    yn = noise.symmetric(y, 0.3, 10, np.random.default_rng(1))
    probs = cross_val_probs(X, yn, 10, seed=0)
    ref = find_label_issues(yn, probs, filter_by="confident_learning")
    assert ref.sum() > 300 and (confident_learning_flags(yn, probs) == ref).all()


# -- end to end on the embedded default -------------------------------------------------------------------------
def _metric(path, name):
    return read_record(path).metrics[name].value


def test_random_detector_f1_is_the_noise_rate_and_cl_beats_it(tmp_path):
    _, rnd = run_cell(Cell("adc-detect-digits-sym40", "random_detector", 0), tmp_path)
    _, cl = run_cell(Cell("adc-detect-digits-sym40", "confident_learning", 0), tmp_path)
    assert abs(_metric(rnd, "precision") - 0.4) < 0.05 and abs(_metric(rnd, "f1") - 0.4) < 0.05
    assert abs(_metric(rnd, "auroc") - 0.5) < 0.05
    assert _metric(cl, "f1") > _metric(rnd, "f1") + 0.35 and _metric(cl, "auroc") > 0.95


def test_elr_beats_ce_under_40pct_symmetric_noise(tmp_path):
    s = run_sweep(plan(tasks=["adc-robust-digits-sym40"], methods=["ce", "elr"], seeds=1), tmp_path, progress=False)
    acc = {read_record(p).method: _metric(p, "test_accuracy") for p in s.paths}
    # seed index 0 of the committed v2 protocol (40 epochs, batch 128): CE 0.930, ELR 0.944 (10-seed means 0.921 / 0.931)
    assert acc["ce"] < 0.935 and acc["elr"] > acc["ce"] + 0.01


class _FakeCifar:
    """Stands in for the hub's CIFAR-10 train split: 50,000 rows whose labels are CIFAR-10N's clean labels; images are
    tiny deterministic arrays made on demand (only the selected rows)."""

    def __init__(self, labels, shift=False):
        self.labels = np.roll(labels, 1) if shift else labels

    def __len__(self):
        return len(self.labels)

    def select(self, idx):
        return {"label": [int(self.labels[i]) for i in idx],
                "img": [np.full((32, 32, 3), (i * 7) % 256, dtype=np.uint8) for i in idx]}


def test_cifar10n_real_path_uses_each_images_own_human_label(tmp_path, monkeypatch):
    from bench.records import read_record
    from bench.runner import Cell, run_cell
    from tasks.label_noise import data as D
    from tasks.common.noise import cifar_n_labels

    labels = cifar_n_labels("CIFAR-10")
    X, y, human = D.cifar10n_arrays("sha", "worse_label", 400, np.random.default_rng(0), images=_FakeCifar(labels["clean_label"]))
    assert X.shape == (400, 3072) and 0 <= X.min() and X.max() <= 1
    assert 0.3 < np.mean(human != y) < 0.5  # worse_label's real noise rate is 40.2 %
    with pytest.raises(DataUnavailable, match="disagree with CIFAR-10N's clean labels"):
        D.cifar10n_arrays("sha", "worse_label", 400, np.random.default_rng(0),
                          images=_FakeCifar(labels["clean_label"], shift=True))
    monkeypatch.setattr(D, "load_cifar10_images", lambda revision: _FakeCifar(labels["clean_label"]))
    over = {"dataset": "cifar10n", "revision": "abc123", "noise": "human", "n_max": 500}
    status, p = run_cell(Cell("adc-detect-digits-sym40", "confident_learning", 0, task_overrides=over), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert r.dataset.revision == "abc123" and "CIFAR-10N worse_label" in r.dataset.id
    assert 0.3 < r.artifacts["true_noise_rate"] < 0.5
    monkeypatch.undo()
    status, p = run_cell(Cell("adc-detect-digits-sym40", "confident_learning", 0,
                              task_overrides={"dataset": "cifar10n"}), tmp_path / "b")
    assert status == "failed" and "pin the dataset revision" in read_record(p).error
