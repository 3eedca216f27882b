import copy
import math

import numpy as np
import pandas as pd
import pytest
import torch

from baselines.preference._mix import easy_to_hard, route_small_margin
from baselines.preference._train import PairTrainConfig, train_pairs
from bench.lm import preference_losses as L
from bench.records import read_record
from bench.runner import Cell, run_cell
from tasks.common import sorting as toy
from tasks.preference.tasks import PrefData
from tasks.preference.winrate import lc_win_rate, win_rate

T = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def test_losses_hand_computed():
    pw, pl, rw, rl = T(-1.0), T(-2.0), T(-1.5), T(-1.5)  # h = 0.5 - (-0.5) = 1
    assert float(L.dpo_loss(pw, pl, rw, rl, beta=1.0)) == pytest.approx(-math.log(1 / (1 + math.exp(-1))))
    assert float(L.cdpo_loss(pw, pl, rw, rl, 1.0, eps=0.0)) == pytest.approx(float(L.dpo_loss(pw, pl, rw, rl, 1.0)))
    assert float(L.cdpo_loss(pw, pl, rw, rl, 1.0, eps=0.5)) == pytest.approx(
        0.5 * (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))))
    assert float(L.robust_dpo_loss(pw, pl, rw, rl, 1.0, eps=0.0)) == pytest.approx(float(L.dpo_loss(pw, pl, rw, rl, 1.0)))
    eps = 0.2
    want = ((1 - eps) * math.log(1 + math.exp(-1)) - eps * math.log(1 + math.exp(1))) / (1 - 2 * eps)
    assert float(L.robust_dpo_loss(pw, pl, rw, rl, 1.0, eps)) == pytest.approx(want)
    assert float(L.ipo_loss(pw, pl, rw, rl, tau=0.5)) == pytest.approx(0.0)  # h = 1 = 1/(2 tau)
    assert float(L.ipo_loss(pw, pl, rw, rl, tau=0.25)) == pytest.approx(1.0)  # (1 - 2)^2
    # SimPO: -2/2 - (-6/3) = 1; beta 2, gamma 0.5 -> -log sigmoid(1.5)
    assert float(L.simpo_loss(T(-2.0), T(-6.0), T(2.0), T(3.0), 2.0, 0.5)) == pytest.approx(math.log(1 + math.exp(-1.5)))


def test_lc_equals_win_rate_without_length_effect():
    rng = np.random.default_rng(0)
    n = 400
    p = (rng.random(n) < 0.73).astype(float)
    lm, lb = rng.integers(50, 150, n), rng.integers(50, 150, n)
    r = lc_win_rate(p, lm, lb)
    assert r["win_rate"] == pytest.approx(100 * p.mean())
    assert abs(r["lc_win_rate"] - r["win_rate"]) < 3


def test_lc_removes_a_pure_length_effect():
    """Wins explained by length alone: the model is longer on most instructions and wins because of it."""
    rng = np.random.default_rng(1)
    n = 2000
    d = rng.normal(40, 60, n)
    x = np.tanh(d / d.std(ddof=1))
    p = (rng.random(n) < 1 / (1 + np.exp(-3 * x))).astype(float)
    r = lc_win_rate(p, 100 + d, np.full(n, 100.0))
    assert r["win_rate"] > 65
    assert abs(r["lc_win_rate"] - 50) < 3 and r["phi"] > 2


def test_lc_agrees_with_alpaca_eval_reference_implementation(tmp_path, monkeypatch):
    import alpaca_eval.metrics.glm_winrate as glm

    rng = np.random.default_rng(2)
    n = 300
    lm, lb = rng.integers(20, 400, n), rng.integers(20, 400, n)
    d = lm - lb
    p_true = 1 / (1 + np.exp(-(0.6 + 1.5 * np.tanh(d / d.std()))))
    won = rng.random(n) < p_true
    diff = pd.DataFrame({"index": range(n), "instruction_difficulty": 0.0, "model": "none"})
    path = tmp_path / "df_gamed.csv"
    diff.to_csv(path, index=False)
    monkeypatch.setattr(glm, "hf_hub_download", lambda *a, **k: str(path))
    df = pd.DataFrame({"index": range(n), "output_1": ["x" * int(v) for v in lb], "output_2": ["x" * int(v) for v in lm],
                       "preference": np.where(won, 2.0, 1.0), "generator_1": "base", "generator_2": "model",
                       "annotator": "judge"})
    ref = glm.get_length_controlled_winrate(df, glm_name="length_controlled_minimal", save_weights_dir=None,
                                            is_warn_extreme_changes=False)
    ours = lc_win_rate(won.astype(float), lm, lb)
    assert abs(ours["win_rate"] - ref["win_rate"]) < 1e-6
    assert abs(ours["lc_win_rate"] - ref["length_controlled_winrate"]) < 1.5


def test_margin_curriculum_and_routing_rules():
    m = np.array([0.5, 0.1, 0.9, 0.3])
    assert easy_to_hard(m).tolist() == [2, 0, 3, 1]
    assert route_small_margin(m, 0.5).tolist() == [False, True, False, True]  # median 0.4


def _setup(seed=0):
    tok = toy.corpus_tokenizer()
    from bench.lm import tiny_causal_lm

    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=seed,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    pairs = toy.make_pairs(np.random.default_rng(0), toy.sample_lists(np.random.default_rng(1), 8), 0.1)
    return tok, model, pairs


def test_routed_pairs_get_the_sft_loss_only():
    """With every pair routed, the rejected responses cannot influence training; without routing they do."""
    tok, model, pairs = _setup()
    other = [toy.Pair(p.prompt, p.chosen, " 9 9 9 9 9 9 9", p.margin, p.true_margin) for p in pairs]
    cfg = PairTrainConfig(steps=2, batch_size=8, lr=1e-2)
    dpo = lambda pw, pl, rw, rl, lw, ll: L.dpo_loss(pw, pl, rw, rl, 0.1)  # noqa: E731

    def run(ps, route):
        d = PrefData(copy.deepcopy(model), tok, ps)
        m = train_pairs(d, cfg, np.random.default_rng(0), dpo, order=np.arange(8),
                        sft_mask=np.full(8, route))
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.allclose(run(pairs, True), run(other, True))
    assert not torch.allclose(run(pairs, False), run(other, False))


def test_true_reward_and_pairs():
    assert toy.true_reward([3, 1, 2], " 1 2 3") == 1.0
    assert toy.true_reward([3, 1, 2], " 1 2 3 3") == 0.75
    assert toy.true_reward([3, 1, 2], " 2 1 3") == pytest.approx(1 / 3)
    pairs = toy.make_pairs(np.random.default_rng(0), toy.sample_lists(np.random.default_rng(0), 500), 0.15)
    flipped = np.array([p.true_margin < 0 for p in pairs])
    margins = np.array([p.margin for p in pairs])
    assert 0.02 < flipped.mean() < 0.4
    assert margins[flipped].mean() < margins[~flipped].mean()  # flips concentrate on small visible margins


def test_sft_model_is_the_null_baseline_at_exactly_50(tmp_path):
    status, p = run_cell(Cell("pref-sort", "sft_model", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert status == "smoke" and r.metrics["win_rate"].value == 50.0 and r.metrics["lc_win_rate"].value == pytest.approx(50.0)
    status, p = run_cell(Cell("pref-sort", "mixdpo", 0, smoke=True), tmp_path)
    assert status == "smoke" and 0.0 < read_record(p).artifacts["routed_fraction"] < 0.5


def test_ultrafeedback_rows_map_to_pairs_with_score_margins():
    import math

    from bench.errors import DataUnavailable
    from tasks.preference.hub import load_ultrafeedback, rows_to_pairs

    def row(p, c, r, sc, sr):
        return {"prompt": p, "chosen": [{"role": "user", "content": p}, {"role": "assistant", "content": c}],
                "rejected": [{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                "score_chosen": sc, "score_rejected": sr}

    pairs = rows_to_pairs([row("q1", "good", "bad", 8.0, 3.5), row("q2", "a", "b", 6.0, 6.0),
                           row("q3", "x", "y", 7.0, 6.5)])
    assert [(p.prompt, p.chosen, p.rejected, p.margin) for p in pairs] == [("q1", "good", "bad", 4.5),
                                                                         ("q3", "x", "y", 0.5)]
    assert all(math.isnan(p.true_margin) for p in pairs)  # no hidden truth on real data
    assert len(rows_to_pairs([row("q1", "good", "bad", 8.0, 3.5), row("q3", "x", "y", 7.0, 6.5)], 1.0)) == 1
    bad = row("q", "c", "r", 5, 1)
    bad["chosen"] = [{"role": "user", "content": "q"}]
    with pytest.raises(DataUnavailable, match="last `chosen` message is not an assistant turn"):
        rows_to_pairs([bad])
    with pytest.raises(DataUnavailable, match="missing field"):
        rows_to_pairs([{"prompt": "q"}])
    with pytest.raises(DataUnavailable, match="pin a dataset revision"):
        load_ultrafeedback(None)
