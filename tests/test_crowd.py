import dataclasses

import numpy as np
import pytest

from baselines.common.peer_prediction import ca_scores
from bench.records import read_record
from bench.runner import Cell, run_cell
from tasks.crowd.contract import CONTRACT, CrowdView, WorkerScores
from tasks.crowd.metrics import accuracy_after_removal, cheater_detection, majority_vote
from tasks.crowd.simulate import LLMWorld, human_confusions, llm_confusion, simulate


class _Ctx:
    smoke = False
    seed = 0

    def __init__(self):
        self.artifacts = {}

    def add_artifact(self, k, v):
        self.artifacts[k] = v

    @property
    def rng(self):
        return np.random.default_rng(0)


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


def test_detection_metrics_hand_computed_and_in_range():
    assert cheater_detection(np.array([0.9, 0.1, 0.8, 0.2]), np.array([0, 1, 0, 1])) == {"auroc": 1.0, "auprc": 1.0}
    r = cheater_detection(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 0]))
    assert r["auroc"] == 0.5 and r["auprc"] == 0.5
    assert cheater_detection(np.ones(3), np.zeros(3)) == {"auroc": None, "auprc": None}
    # sklearn's average precision sums to 1.0000000000000002 on this perfect ranking; the metric stays in [0, 1]
    y = np.zeros(20, dtype=int)
    y[[1, 4, 9, 13, 17, 19]] = 1
    assert cheater_detection(np.where(y == 1, 0.0, 1.0) + np.linspace(0, 0.1, 20), y)["auprc"] == 1.0


def test_majority_vote_and_removal():
    rng = np.random.default_rng(0)
    mv = majority_vote(np.array([0, 0, 0, 1]), np.array([2, 2, 1, 0]), 3, 3, rng)
    assert mv.tolist() == [2, 0, -1]
    data = CrowdView(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 1, 2, 0, 1, 2]), np.array([1, 1, 0, 1, 1, 0]),
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


def test_llm_samples_agree_as_the_llm_world_says():
    """Two samples of one model agree with probability c^2 + (1 - c^2) q (q = the confusion row's collision
    probability); two different models only through q. Version 1 handed cheaters the requester's very labels."""
    rng = np.random.default_rng(0)
    K, n = 10, 60_000
    conf = llm_confusion(0.85, human_confusions().mean(0))
    truth = rng.integers(0, K, n)
    q = (conf[truth] ** 2).sum(axis=1).mean()
    for c in (1.0, 0.8, 0.5):
        world = LLMWorld.build(truth, conf, 2, c, rng)
        items = np.arange(n)
        a, b, other = world.sample(0, items, rng), world.sample(0, items, rng), world.sample(1, items, rng)
        assert np.mean(a == b) == pytest.approx(c * c + (1 - c * c) * q, abs=0.01)
        assert np.mean(a == other) == pytest.approx(q, abs=0.01)


@pytest.mark.parametrize("cheater_llm,consistency,lo,hi", [("same", 1.0, 0.999, 1.0), ("same", 0.6, 0.70, 0.85),
                                                           ("other", 0.8, 0.65, 0.80)])
def test_requester_labels_are_a_separate_sample(cheater_llm, consistency, lo, hi):
    b = simulate(np.random.default_rng(1), n_items=400, n_workers=40, labels_per_worker=200, copy_prob=1.0,
                 llm_label_fraction=1.0, llm_consistency=consistency, cheater_llm=cheater_llm)
    assert lo <= b.requester_cheater_agreement <= hi


def test_partial_copying_lazy_workers_and_honest_skill_range():
    b = simulate(np.random.default_rng(2), n_items=500, n_workers=60, labels_per_worker=200, copy_prob=0.4,
                 lazy_fraction=0.2, honest_acc=(0.6, 0.95), worker_concentration=1e4)
    p = b.public
    copied_of_cheaters = b.copied[b.is_cheater[p.workers]]
    assert copied_of_cheaters.mean() == pytest.approx(0.4, abs=0.03)
    assert not b.copied[~b.is_cheater[p.workers]].any()
    acc = np.array([np.mean(p.labels[p.workers == w] == b.truth[p.items[p.workers == w]]) for w in range(60)])
    assert b.is_lazy.sum() == 12 and not (b.is_lazy & b.is_cheater).any()
    assert abs(acc[b.is_lazy].mean() - 0.1) < 0.03  # random answers on 10 classes
    honest = ~b.low_effort
    assert 0.5 < acc[honest].min() < 0.68 and 0.88 < acc[honest].max() < 1.0 and acc[honest].std() > 0.08


def test_view_hides_truth_and_masks_and_the_contract_names_what_is_wrong():
    assert {f.name for f in dataclasses.fields(CrowdView)} == {
        "items", "workers", "labels", "llm_labels", "n_items", "n_workers", "n_classes"}
    CONTRACT.check_output(np.zeros(4), n_workers=4)
    with pytest.raises(Exception, match=r"shape \(4,\)"):
        CONTRACT.check_output(np.zeros(3), n_workers=4)
    with pytest.raises(Exception, match="finite"):
        CONTRACT.check_output(WorkerScores(np.array([0.0, np.nan])), n_workers=2)


def test_wrong_output_fails_the_cell_with_the_contract_message(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS

    register_method("bad_crowd", "crowd.cheating")(lambda d, c, x: np.zeros(3))
    try:
        status, p = run_cell(Cell("crowd-cifar10n-c30", "bad_crowd", 0, smoke=True), tmp_path)
        assert status == "failed" and "scores must have shape (16,)" in read_record(p).error
    finally:
        METHODS.remove("bad_crowd")


def test_llm_agreement_baseline_hand_computed():
    from baselines.crowd.llm_agreement import llm_agreement

    # worker 0 agrees with the LLM on 2 of its 2 held items, worker 1 on 1 of 2, worker 2 labels only item 2 (no
    # LLM label there): median fill
    v = CrowdView(np.array([0, 1, 0, 1, 2]), np.array([0, 0, 1, 1, 2]), np.array([1, 0, 1, 1, 0]),
                  np.array([1, 0, -1]), 3, 3, 2)
    assert np.allclose(llm_agreement(v, None, _Ctx()), [0.0, 0.5, 0.25])


def _mean_auc(method, seeds, **kw):
    from baselines.crowd.conditioned_ca import Config, conditioned_ca
    from baselines.crowd.llm_agreement import llm_agreement

    fn = {"naive": lambda v: llm_agreement(v, None, _Ctx()), "cca": lambda v: conditioned_ca(v, Config(), _Ctx())}
    base = human_confusions()
    out = []
    for s in seeds:
        b = simulate(np.random.default_rng(100 + s), base=base, **kw)
        out.append(cheater_detection(fn[method](b.public), b.low_effort)["auroc"])
    return np.array(out)


def test_regimes_naive_score_enough_when_copying_is_heavy_peer_prediction_when_partial():
    """The docs' claims in miniature (4 seeds): with calibrated humans and 90 % copying the naive LLM-agreement
    score is at least as good as conditioned CA; with varied competent skill, 50 % copying and random reporters
    conditioned CA wins by a wide margin."""
    seeds = range(4)
    heavy = dict(cheater_fraction=0.3)
    assert _mean_auc("naive", seeds, **heavy).mean() > 0.95
    assert (_mean_auc("naive", seeds, **heavy) - _mean_auc("cca", seeds, **heavy)).mean() > 0.0
    mixed = dict(cheater_fraction=0.3, lazy_fraction=0.1, copy_prob=0.5, llm_accuracy=0.75, llm_consistency=0.8,
                 honest_acc=(0.8, 0.99))
    d = _mean_auc("cca", seeds, **mixed) - _mean_auc("naive", seeds, **mixed)
    assert d.min() > 0.15


def test_crowdkit_wrappers_map_workers_and_rank_a_spammer_last():
    from baselines.crowd.mace import Config as MaceConfig, mace
    from baselines.crowd.one_coin import Config as OneCoinConfig, one_coin
    from baselines.crowd.wawa import wawa

    rng = np.random.default_rng(3)
    n_items, K = 120, 4
    truth = rng.integers(0, K, n_items)
    rows = []
    for w in range(8):  # worker 5 answers at random; the others are 90 % right
        for t in range(n_items):
            lab = rng.integers(0, K) if w == 5 or rng.random() > 0.9 else truth[t]
            rows.append((t, w, lab))
    rows = np.array(rows)[rng.permutation(len(rows))]  # workers appear in random order (MACE factorises by order)
    v = CrowdView(rows[:, 0], rows[:, 1], rows[:, 2], np.full(n_items, -1), n_items, 8, K)
    for scores in (mace(v, MaceConfig(n_restarts=1, n_iter=10), _Ctx()),
                   one_coin(v, OneCoinConfig(n_iter=20), _Ctx()), wawa(v, None, _Ctx())):
        assert scores.shape == (8,) and np.argmin(scores) == 5
    # Wawa's skill is the agreement with the plurality vote (the worker's own label included)
    mv = majority_vote(v.items, v.labels, n_items, K, np.random.default_rng(0))
    want = [np.mean(v.labels[v.workers == w] == mv[v.items[v.workers == w]]) for w in range(8)]
    assert np.allclose(wawa(v, None, _Ctx()), want, atol=0.02)


def test_dawid_skene_wrapper_tracks_true_accuracy_without_cheaters():
    from scipy.stats import spearmanr

    from baselines.crowd.dawid_skene import Config, dawid_skene

    b = simulate(np.random.default_rng(1), n_items=300, n_workers=30, labels_per_worker=80, cheater_fraction=0.0,
                 worker_concentration=3.0)
    est = dawid_skene(b.public, Config(n_iter=50), None)
    p = b.public
    true_acc = np.array([np.mean(p.labels[p.workers == w] == b.truth[p.items[p.workers == w]]) for w in range(30)])
    assert spearmanr(est, true_acc).statistic > 0.7


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
    kw = dict(cheater_fraction=0.3, copy_prob=0.9, llm_accuracy=0.85, llm_label_fraction=0.5, lazy_fraction=0.1,
              llm_consistency=0.6)
    b = real.inject_cheaters(frame, gt, np.random.default_rng(1), **kw)
    p = b.public
    assert p.n_items == 300 and p.n_workers == 40 and b.is_cheater.sum() == 12 and b.is_lazy.sum() == 4
    honest_orig = frame[frame.task != "t_no_gt"].label.to_numpy()
    keep = ~b.low_effort[p.workers]
    assert (p.labels[keep] == honest_orig[keep]).all()  # honest workers' real labels kept verbatim
    # the requester's LLM labels are its own sample: copied labels differ from them on a share of held items
    assert 0.6 < b.requester_cheater_agreement < 0.95
    with pytest.raises(DataUnavailable, match="lacks column"):
        real.inject_cheaters(frame.rename(columns={"worker": "annotator"}), gt, np.random.default_rng(0), **kw)
    monkeypatch.setattr(real, "load_crowdkit", lambda name: _fake_crowdkit())
    over = {"source": "crowdkit:relevance-2", "llm_consistency": 1.0, "llm_label_fraction": 1.0}
    status, path = run_cell(Cell("crowd-cifar10n-c30", "conditioned_ca", 0, task_overrides=over), tmp_path)
    r = read_record(path)
    assert status == "ok", r.error
    assert r.metrics["auroc"].value > 0.9 and "crowdkit:relevance-2" in r.dataset.id


def test_config_is_typed_with_bounds_and_descriptions():
    from bench.config import build_config
    from bench.errors import ConfigError
    from tasks.crowd.tasks import CrowdConfig

    assert all(f.description for f in CrowdConfig.model_fields.values())
    with pytest.raises(ConfigError, match="copy_prob"):
        build_config(CrowdConfig, {"copy_prob": 1.5}, "task config")
    with pytest.raises(ConfigError, match="honest_acc"):
        build_config(CrowdConfig, {"honest_acc_low": 0.5}, "task config")
