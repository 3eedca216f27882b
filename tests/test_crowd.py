import numpy as np
import pytest

from baselines.common.peer_prediction import ca_scores
from bench.records import read_record
from bench.runner import Cell, plan, run_cell, run_sweep
from tasks.crowd.metrics import accuracy_after_removal, cheater_detection, majority_vote
from tasks.crowd.simulate import CrowdData, human_confusions, llm_confusion, simulate


def test_ca_scores_hand_computed_agreeing_pair():
    # two items, two workers, both always agree: S = identity, bonus 1, penalty 0.5 -> 0.5 each
    s, n = ca_scores(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]), 2, 2, 2)
    assert np.allclose(s, [0.5, 0.5]) and (n == 2).all()


def test_ca_scores_hand_computed_constant_worker():
    # worker 1 always says 0; worker 0 says 0 then 1. Pooled peer pairs:
    # J = [[2,1],[1,0]] -> Delta = [[-1/16, 1/16],[1/16,-1/16]] -> S = [[0,1],[1,0]];
    # w0: bonuses (0, 1), penalty 0.5 -> 0.0 ; w1: bonuses (0, 1), penalty 0.25 -> 0.25
    s, _ = ca_scores(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 0]), 2, 2, 2)
    assert np.allclose(s, [0.0, 0.25])


def test_conditioning_excludes_items_without_llm_labels():
    items, workers, labels = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    s, n = ca_scores(items, workers, labels, 2, 2, 2, strata=np.array([-1, -1]))
    assert np.isnan(s).all() and (n == 0).all()


def test_detection_metrics_hand_computed():
    assert cheater_detection(np.array([0.9, 0.1, 0.8, 0.2]), np.array([0, 1, 0, 1])) == {"auroc": 1.0, "auprc": 1.0}
    r = cheater_detection(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 0]))
    assert r["auroc"] == 0.5 and r["auprc"] == 0.5
    assert cheater_detection(np.ones(3), np.zeros(3)) == {"auroc": None, "auprc": None}


def test_majority_vote_and_removal():
    rng = np.random.default_rng(0)
    mv = majority_vote(np.array([0, 0, 0, 1]), np.array([2, 2, 1, 0]), 3, 3, rng)
    assert mv.tolist() == [2, 0, -1]
    data = CrowdData(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]), np.array([1, 1, 0, 1, 1, 0]),
                     np.array([-1, -1]), 2, 3, 2)
    truth = np.array([0, 0])
    # removing the two lowest-scored workers (0 and 1, who say 1) leaves worker 2, who is right on both items
    assert accuracy_after_removal(data, np.array([0.1, 0.2, 0.9]), truth, 2 / 3, rng) == 1.0
    assert accuracy_after_removal(data, np.array([0.1, 0.2, 0.9]), truth, 0.0, rng) == 0.0


def test_simulator_is_calibrated_and_deterministic():
    C = human_confusions()
    assert C.shape == (3, 10, 10) and np.allclose(C.sum(-1), 1)
    assert 0.8 < np.mean([np.trace(c) / 10 for c in C]) < 0.85  # CIFAR-10N random labels: ~17-18% noise
    L = llm_confusion(0.7, C.mean(0))
    assert np.allclose(np.diag(L), 0.7) and np.allclose(L.sum(1), 1)
    a = simulate(np.random.default_rng(5), n_items=50, n_workers=10, labels_per_worker=20, base=C)
    b = simulate(np.random.default_rng(5), n_items=50, n_workers=10, labels_per_worker=20, base=C)
    assert (a.public.labels == b.public.labels).all() and a.is_cheater.sum() == 3


def test_separable_by_construction_conditioned_score_near_1_random_near_half(tmp_path):
    """Honest workers are accurate; cheaters always copy a 70%-accurate LLM: conditioned CA separates them."""
    ov = (("copy_prob", 1.0), ("llm_accuracy", 0.7), ("worker_concentration", 500.0), ("llm_label_fraction", 1.0))
    aurocs = {}
    for m in ("conditioned_ca", "random_scores"):
        vals = []
        for i in range(3):
            _, p = run_cell(Cell("crowd-cifar10n-c30", m, i, task_overrides=ov), tmp_path)
            vals.append(read_record(p).metrics["auroc"].value)
        aurocs[m] = np.mean(vals)
    assert aurocs["conditioned_ca"] > 0.98
    assert abs(aurocs["random_scores"] - 0.5) < 0.2


def test_conditioning_is_what_catches_cheaters(tmp_path):
    s = run_sweep(plan(tasks=["crowd-cifar10n-c50"], methods=["conditioned_ca", "correlated_agreement",
                                                              "dawid_skene"], seeds=1), tmp_path, progress=False)
    auc = {read_record(p).method: read_record(p).metrics["auroc"].value for p in s.paths}
    # with half the workers copying the LLM, agreement-based scores trust the cheaters; conditioning fixes it
    assert auc["conditioned_ca"] > 0.95 > 0.5 > auc["correlated_agreement"]
    assert auc["dawid_skene"] < 0.5


def test_dawid_skene_wrapper_tracks_true_accuracy_without_cheaters():
    from scipy.stats import spearmanr

    from baselines.crowd.dawid_skene import dawid_skene

    b = simulate(np.random.default_rng(1), n_items=300, n_workers=30, labels_per_worker=80, cheater_fraction=0.0,
                 worker_concentration=3.0)
    est = dawid_skene(b.public, type("C", (), {"n_iter": 50})(), None)
    p = b.public
    true_acc = np.array([np.mean(p.labels[p.workers == w] == b.truth[p.items[p.workers == w]]) for w in range(30)])
    assert spearmanr(est, true_acc).statistic > 0.7


def test_bad_scores_shape_is_an_error(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS

    register_method("bad_crowd", "crowd.cheating")(lambda d, c, x: np.zeros(3))
    try:
        status, p = run_cell(Cell("crowd-cifar10n-c30", "bad_crowd", 0, smoke=True), tmp_path)
        assert status == "failed" and "scores must have shape (20,)" in read_record(p).error
    finally:
        METHODS.remove("bad_crowd")


def _fake_crowdkit(n_tasks=300, n_workers=40, per_worker=120, K=3, acc=0.75, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    gt = pd.Series(rng.integers(0, K, n_tasks), index=[f"t{i}" for i in range(n_tasks)])
    rows = []
    for w in range(n_workers):
        for t in rng.choice(n_tasks, per_worker, replace=False):
            y = gt.iloc[t] if rng.random() < acc else int(rng.integers(0, K))
            rows.append((f"t{t}", f"w{w}", int(y)))
    rows.append(("t_no_gt", "w0", 1))  # items without ground truth are dropped
    return pd.DataFrame(rows, columns=["task", "worker", "label"]), gt


def test_real_crowd_data_with_injected_cheaters(tmp_path, monkeypatch):
    from bench.errors import DataUnavailable
    from tasks.crowd import real

    frame, gt = _fake_crowdkit()
    b = real.inject_cheaters(frame, gt, np.random.default_rng(1), 0.3, 0.85, 0.9, 0.5)
    p = b.public
    assert p.n_items == 300 and p.n_workers == 40 and b.is_cheater.sum() == 12
    llm = np.where(p.llm_labels >= 0, p.llm_labels, -2)
    agree = [np.mean(p.labels[p.workers == w] == llm[p.items[p.workers == w]]) for w in range(p.n_workers)]
    honest_orig = frame[frame.task != "t_no_gt"]
    assert (p.labels[~b.is_cheater[p.workers]] == honest_orig.label.to_numpy()[~b.is_cheater[p.workers]]).all()
    assert min(np.array(agree)[b.is_cheater]) > max(np.array(agree)[~b.is_cheater])  # cheaters copy the LLM
    with pytest.raises(DataUnavailable, match="lacks column"):
        real.inject_cheaters(frame.rename(columns={"worker": "annotator"}), gt, np.random.default_rng(0), .3, .8, .9, .5)
    monkeypatch.setattr(real, "load_crowdkit", lambda name: _fake_crowdkit())
    over = {"source": "crowdkit:relevance-2"}
    status, path = run_cell(Cell("crowd-cifar10n-c30", "conditioned_ca", 0, task_overrides=over), tmp_path)
    r = read_record(path)
    assert status == "ok", r.error
    assert r.metrics["auroc"].value > 0.9 and "crowdkit:relevance-2" in r.dataset.id
