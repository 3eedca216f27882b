"""Preference family: losses against TRL's definitions, LC win rate against alpaca_eval, the trainer's sequence
limits, the contract's view, the tuning protocol and the real-data loader."""
import copy
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from baselines.preference._mix import easy_to_hard, mixed_loss, route_small_margin
from baselines.preference._train import LrConfig, PairTrainConfig, encode_pairs, train_pairs
from bench.contract import ContractError
from bench.lm import SequenceTooLong
from bench.lm import preference_losses as L
from bench.records import read_record
from bench.runner import Cell, run_cell
from tasks.common import sorting as toy
from tasks.preference.contract import CONTRACT, PairBudget, PreferenceView, TrainedPolicy, VisiblePair
from tasks.preference.winrate import alpaca_eval_lc_win_rate, lc_win_rate

T = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


# -- losses: TRL's definitions on fixed log-probs -------------------------------------------------------------------
def _trl(cls_path: str, **attrs):
    import importlib

    mod, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(mod), name)
    return cls, SimpleNamespace(accelerator=SimpleNamespace(device="cpu"), alpha=0.0, label_smoothing=0.0, **attrs)


def test_losses_match_trl_on_fixed_logps():
    g = torch.Generator().manual_seed(0)
    pw, pl, rw, rl = (-(torch.rand(6, generator=g, dtype=torch.float64) * 20 + 1) for _ in range(4))
    lw, ll = T(3, 7, 12, 5, 9, 20), T(4, 6, 15, 2, 9, 11)
    h = (pw - rw) - (pl - rl)
    cpo, stub = _trl("trl.experimental.cpo.CPOTrainer", beta=0.3, loss_type="sigmoid")
    # DPO = TRL's sigmoid loss on the log-ratio margin; cDPO = the label-smoothed sigmoid (CPO "sigmoid")
    torch.testing.assert_close(L.dpo_loss(pw, pl, rw, rl, 0.3), cpo.cpo_loss(stub, pw - rw, pl - rl)[0])
    stub.label_smoothing = 0.2
    torch.testing.assert_close(L.cdpo_loss(pw, pl, rw, rl, 0.3, 0.2), cpo.cpo_loss(stub, pw - rw, pl - rl)[0])
    # SimPO (CPO "simpo", average log-probs, label_smoothing 0)
    stub.label_smoothing, stub.loss_type, stub.beta, stub.simpo_gamma = 0.0, "simpo", 2.0, 0.7
    torch.testing.assert_close(L.simpo_loss(pw, pl, lw, ll, 2.0, 0.7), cpo.cpo_loss(stub, pw / lw, pl / ll)[0])
    # IPO, length-normalised as TRL's DPOTrainer: (h_w / |y_w| - h_l / |y_l| - 1 / (2 tau))^2
    stub.loss_type, stub.beta = "ipo", 0.1
    torch.testing.assert_close(L.ipo_loss(pw, pl, rw, rl, lw, ll, 0.1),
                               cpo.cpo_loss(stub, (pw - rw) / lw, (pl - rl) / ll)[0])
    # robust DPO: TRL's "robust" term by term
    z = 0.3 * h
    want = (-(1 - 0.2) * torch.nn.functional.logsigmoid(z) + 0.2 * torch.nn.functional.logsigmoid(-z)) / 0.6
    torch.testing.assert_close(L.robust_dpo_loss(pw, pl, rw, rl, 0.3, 0.2), want)
    # ORPO's odds-ratio term (TRL ORPOTrainer.odds_ratio_loss on average log-probs)
    orpo, stub = _trl("trl.experimental.orpo.ORPOTrainer", beta=0.25)
    aw, al = pw / lw / 4, pl / ll / 4
    torch.testing.assert_close(L.orpo_odds_ratio(aw, al, 0.25), orpo.odds_ratio_loss(stub, aw, al)[0])
    assert float(L.orpo_loss(aw, al, T(1.5), 0.25)) == pytest.approx(1.5 - float(orpo.odds_ratio_loss(stub, aw, al)[0].mean()))
    # KTO (TRL KTOTrainer "kto"): 1 - sigmoid(beta (r - z)) / 1 - sigmoid(beta (z - r)), z = max(0, mean KL) detached
    kl = L.kto_kl_estimate(T(-3.0, -5.0), T(-4.0, -4.5))
    assert float(kl) == pytest.approx(0.25)
    assert float(L.kto_kl_estimate(T(-5.0), T(-4.0))) == 0.0
    got = L.kto_losses(T(0.5), T(-0.2, 0.1), kl, 0.1, 1.0, 2.0)
    want = [1 - 1 / (1 + math.exp(-0.1 * 0.25)), 2 * (1 - 1 / (1 + math.exp(-0.1 * 0.45))),
            2 * (1 - 1 / (1 + math.exp(-0.1 * 0.15)))]
    assert got.tolist() == pytest.approx(want)
    # RPO = mean DPO + alpha * token-mean NLL of the chosen responses (TRL loss_type ["sigmoid", "sft"])
    assert float(L.rpo_loss(pw, pl, rw, rl, lw, 0.3, 0.5)) == pytest.approx(
        float(L.dpo_loss(pw, pl, rw, rl, 0.3).mean() - 0.5 * pw.sum() / lw.sum()))


def test_losses_hand_computed():
    pw, pl, rw, rl = T(-1.0), T(-2.0), T(-1.5), T(-1.5)  # h = 1
    assert float(L.dpo_loss(pw, pl, rw, rl, beta=1.0)) == pytest.approx(math.log(1 + math.exp(-1)))
    assert float(L.cdpo_loss(pw, pl, rw, rl, 1.0, eps=0.5)) == pytest.approx(
        0.5 * (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))))
    one = T(1.0)
    assert float(L.ipo_loss(pw, pl, rw, rl, one, one, beta=0.5)) == pytest.approx(0.0)  # h = 1 = 1 / (2 tau)
    assert float(L.ipo_loss(pw, pl, rw, rl, one, one, beta=0.25)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="eps"):
        L.robust_dpo_loss(pw, pl, rw, rl, 1.0, eps=0.5)


# -- LC win rate = alpaca_eval's -----------------------------------------------------------------------------------
def _sets():
    rng = np.random.default_rng(7)
    n = 100
    out = []
    # many ties (identical answers judged 0.5) plus a length effect
    lm, lb = rng.integers(20, 400, n), rng.integers(20, 400, n)
    d = np.tanh((lb - lm) / np.std(lb - lm, ddof=1))
    p = (rng.random(n) < 1 / (1 + np.exp(-(0.4 - 1.5 * d)))).astype(float)
    tie = rng.random(n) < 0.45
    p[tie] = 0.5
    lm[tie] = lb[tie]
    out.append(("ties+length", p, lm, lb))
    # no length effect at all
    lm2, lb2 = rng.integers(50, 150, n), rng.integers(50, 150, n)
    out.append(("no-length-effect", (rng.random(n) < 0.7).astype(float), lm2, lb2))
    # soft (weighted-annotator) preferences with a strong length effect
    lm3 = lb2 + rng.normal(60, 80, n).astype(int).clip(-40, None)
    x = np.tanh((lb2 - lm3) / np.std(lb2 - lm3, ddof=1))
    out.append(("soft+strong-length", 1 / (1 + np.exp(-(0.2 - 2.5 * x))), lm3, lb2))
    # mostly ties (identical answers), a few decisive wins that come with longer answers
    p4 = np.full(n, 0.5)
    p4[:12] = 1.0
    p4[12:15] = 0.0
    lm4 = lm2.copy()
    lm4[:15] += rng.integers(0, 40, 15)
    out.append(("mostly-ties", p4, lm4, lm2.copy()))
    return out


@pytest.mark.parametrize("name, p, lm, lb", _sets(), ids=[s[0] for s in _sets()])
def test_lc_agrees_with_alpaca_eval_within_half_a_point(name, p, lm, lb):
    ref = alpaca_eval_lc_win_rate(p, lm, lb)
    ours = lc_win_rate(p, lm, lb)
    assert ours["win_rate"] == pytest.approx(ref["win_rate"], abs=1e-9)
    assert abs(ours["lc_win_rate"] - ref["lc_win_rate"]) <= 0.5, (name, ours, ref)


def test_lc_removes_a_pure_length_effect_and_keeps_a_real_one():
    rng = np.random.default_rng(1)
    n = 1000
    d = rng.normal(40, 60, n)
    x = np.tanh(-d / d.std(ddof=1))  # alpaca_eval's feature: baseline minus model length
    p = (rng.random(n) < 1 / (1 + np.exp(3 * x))).astype(float)  # wins from length alone
    r = lc_win_rate(p, 100 + d, np.full(n, 100.0))
    assert r["win_rate"] > 65 and abs(r["lc_win_rate"] - 50) < 4 and r["length_coef"] < -1
    same = rng.integers(80, 120, n)
    r = lc_win_rate((rng.random(n) < 0.7).astype(float), same, same)  # equal lengths (sd 0: alpaca_eval gives NaN)
    assert abs(r["lc_win_rate"] - 70) < 3 and r["length_coef"] == 0.0


# -- the trainer: sequence limits, routing ---------------------------------------------------------------------------
def _view(pairs, tok, model, max_length=None, steps=2, batch=8):
    return PreferenceView(policy=model, tokenizer=tok, pairs=tuple(pairs), budget=PairBudget(steps, batch),
                          max_length=max_length)


def _tiny(seed=0):
    from bench.lm import tiny_causal_lm

    tok = toy.corpus_tokenizer()
    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=seed,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    raw = toy.make_pairs(np.random.default_rng(0), toy.sample_lists(np.random.default_rng(1), 8), 0.1)
    return tok, model, [VisiblePair(p.prompt, p.chosen, p.rejected, float(p.margin)) for p in raw]


def test_a_pair_longer_than_the_limit_is_an_error_never_a_cut():
    tok, model, pairs = _tiny()
    enc_w, enc_l = encode_pairs(_view(pairs, tok, model))
    limit = max(len(e["input_ids"]) for e in enc_w + enc_l)
    long = pairs[:1] + [VisiblePair(pairs[1].prompt, pairs[1].chosen * 4, pairs[1].rejected, 1.0)] + pairs[2:]
    with pytest.raises(SequenceTooLong, match="pair 1"):
        encode_pairs(_view(long, tok, model, max_length=limit))
    with pytest.raises(SequenceTooLong):
        train_pairs(_view(long, tok, model, max_length=limit), PairTrainConfig(), np.random.default_rng(0),
                    lambda b: L.dpo_loss(b.pi_w, b.pi_l, b.ref_w, b.ref_l).mean())


def test_full_length_ultrafeedback_shaped_pairs_score_every_response_token():
    """The old trainer cut every sequence to 48 tokens: with 60-token prompts no response token was scored (DPO stuck
    at ln 2, NaN for length-normalised losses). Now the limit is the model's and every response token counts."""
    tok, model, _ = _tiny()
    prompt = "sort" + " 7 3" * 30 + " :"  # a long prompt, as UltraFeedback's
    pairs = [VisiblePair(prompt, " 3 3 7 7", " 7 3 7", 1.0), VisiblePair(prompt, " 3 7", " 7 7 7 7 3", 0.5)]
    view = _view(pairs, tok, model, max_length=None)
    enc_w, enc_l = encode_pairs(view)
    assert all(len(e["input_ids"]) > 48 and sum(v != -100 for v in e["labels"]) >= 2 for e in enc_w + enc_l)
    losses = []
    view.budget = PairBudget(3, 2)
    train_pairs(view, PairTrainConfig(lr=1e-2), np.random.default_rng(0),
                lambda b: L.simpo_loss(b.pi_w, b.pi_l, b.len_w, b.len_l).mean(), log=lambda m, s: losses.append(
                    list(m.values())[0]))
    assert all(np.isfinite(losses)) and losses[0] != losses[-1]


def test_routed_pairs_get_the_sft_loss_only():
    """With every pair routed, the rejected responses cannot influence training; without routing they do."""
    tok, model, pairs = _tiny()
    other = [VisiblePair(p.prompt, p.chosen, " 9 9 9 9 9 9 9", p.margin) for p in pairs]

    def run(ps, routed):
        v = _view(ps, tok, copy.deepcopy(model))
        m = train_pairs(v, PairTrainConfig(lr=1e-2), np.random.default_rng(0), mixed_loss(0.1), order=np.arange(8),
                        route=np.full(8, routed))
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.allclose(run(pairs, True), run(other, True))
    assert not torch.allclose(run(pairs, False), run(other, False))


def test_margin_curriculum_and_routing_rules():
    m = np.array([0.5, 0.1, 0.9, 0.3])
    assert easy_to_hard(m).tolist() == [2, 0, 3, 1]
    assert route_small_margin(m, 0.5).tolist() == [False, True, False, True]  # median 0.4


def test_true_reward_and_pairs():
    assert toy.true_reward([3, 1, 2], " 1 2 3") == 1.0
    assert toy.true_reward([3, 1, 2], " 1 2 3 3") == 0.75
    pairs = toy.make_pairs(np.random.default_rng(0), toy.sample_lists(np.random.default_rng(0), 500), 0.15)
    flipped = np.array([p.true_margin < 0 for p in pairs])
    margins = np.array([p.margin for p in pairs])
    assert 0.02 < flipped.mean() < 0.4
    assert margins[flipped].mean() < margins[~flipped].mean()  # flips concentrate on small visible margins


# -- contract, tuning protocol, cells ------------------------------------------------------------------------------
def test_contract_view_hides_the_truth_and_output_is_checked():
    from bench.conformance import input_fields

    fields = set(input_fields(PreferenceView))
    assert "true_margins" in fields and not fields & {"eval", "val", "judge", "true_reward", "prompts"}
    tok, model, _ = _tiny()
    TrainedPolicy(model).validate(vocab_size=len(tok))
    with pytest.raises(ContractError, match="trained policy"):
        CONTRACT.check_output(np.zeros(3))
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    with pytest.raises(ContractError, match="non-finite"):
        TrainedPolicy(model).validate()


def test_tuning_grid_is_shared_and_drops_missing_axes():
    from baselines.preference.simpo import Config as SimpoCfg
    from tasks.preference.tasks import PrefSortConfig, SortingPreference

    cfg = PrefSortConfig(tune_lr=[1e-4, 1e-3], tune_beta_scale=[1.0, 5.0])
    pts = SortingPreference.grid(SimpoCfg(), cfg)
    assert [v for v, _ in pts] == [{"lr": 1e-4, "beta": 2.0}, {"lr": 1e-4, "beta": 10.0}, {"lr": 1e-3, "beta": 2.0},
                                   {"lr": 1e-3, "beta": 10.0}]
    assert [v for v, _ in SortingPreference.grid(LrConfig(), cfg)] == [{"lr": 1e-4}, {"lr": 1e-3}]
    assert SortingPreference.grid(LrConfig(), cfg.model_copy(update={"tuning": False}))[0][0] == {}


def test_cells_null_is_exactly_50_and_tuning_records_its_selection(tmp_path):
    status, p = run_cell(Cell("pref-sort", "sft_model", 0, smoke=True), tmp_path)
    r = read_record(p)
    assert status == "smoke" and r.metrics["win_rate"].value == 50.0 and r.metrics["lc_win_rate"].value == 50.0
    status, p = run_cell(Cell("pref-sort", "mixdpo", 0, smoke=True,
                              task_overrides=(("tuning", True), ("tune_lr", (1e-4, 1e-3)), ("tune_beta_scale", (1.0,)))),
                         tmp_path)
    r = read_record(p)
    assert status == "smoke" and 0.0 < r.artifacts["routed_fraction"] < 0.5
    assert r.artifacts["selected"] in ("beta=0.1, lr=0.0001", "beta=0.1, lr=0.001")
    assert [t["lr"] for t in r.artifacts["tuning"]] == [1e-4, 1e-3]


# -- real data -------------------------------------------------------------------------------------------------------
def test_ultrafeedback_rows_map_to_pairs_with_score_margins():
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
    assert all(math.isnan(p.true_margin) for p in pairs)
    bad = row("q", "c", "r", 5, 1)
    bad["chosen"] = [{"role": "user", "content": "q"}]
    with pytest.raises(DataUnavailable, match="last `chosen` message is not an assistant turn"):
        rows_to_pairs([bad])
    with pytest.raises(DataUnavailable, match="missing field"):
        rows_to_pairs([{"prompt": "q"}])
    with pytest.raises(DataUnavailable, match="pin a dataset revision"):
        load_ultrafeedback(None)


def test_pretrained_tier_task_runs_end_to_end_on_a_stand_in_model(tmp_path):
    """pref-sort-smollm2's pipeline (chat-format prompts, in-format SFT warm-up, LoRA on the top layers over the frozen
    trunk's cached states, judged eval) on the random tiny Llama stand-in; the real run swaps only `model`."""
    ov = (("model", {"name": "tiny-llama", "finetune": "lora", "train_layers": 1, "lora_r": 4, "lora_alpha": 8}),
          ("n_pairs", 16), ("n_val", 4), ("n_eval", 8), ("n_demos", 16), ("warmup_steps", 2), ("steps", 2),
          ("batch_size", 4), ("max_new_tokens", 4), ("tuning", False))
    for method in ("sft_model", "dpo"):
        status, p = run_cell(Cell("pref-sort-smollm2", method, 0, smoke=False, task_overrides=ov), tmp_path)
        r = read_record(p)
        assert status == "ok", r.error
        assert 0.0 <= r.metrics["lc_win_rate"].value <= 100.0
    assert r.artifacts["samples"][0]["prompt"].startswith("<|im_start|>user\nSort in ascending order:")


# -- the real-data task, with the hub faked on rows in the real schema ------------------------------------------------
def _fake_hub(monkeypatch, n_uf=6, n_ae=12):
    import datasets

    words = "the model should explain each step of the derivation with care and cite the relevant facts".split()
    rng = np.random.default_rng(0)

    def text(n):
        return " ".join(rng.choice(words, n))

    uf = []
    for i in range(n_uf):
        prompt = f"Question {i}: " + text(120)  # UltraFeedback-length prompts (> 48 tokens: the old cut lost them)
        c, r = text(80), text(40)
        uf.append({"prompt": prompt, "prompt_id": f"{i:064x}",
                   "chosen": [{"role": "user", "content": prompt}, {"role": "assistant", "content": c}],
                   "rejected": [{"role": "user", "content": prompt}, {"role": "assistant", "content": r}],
                   "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": c}],
                   "score_chosen": 8.0, "score_rejected": float(4 + i % 5)})
    ae = [{"instruction": f"Instruction {i}: " + text(20), "output": text(30), "generator": "gpt4_1106_preview",
           "dataset": "helpful_base"} for i in range(n_ae)]

    def load_dataset(path, name=None, split=None, revision=None, **kw):
        if revision is None:
            raise ValueError("no revision")
        if path == "HuggingFaceH4/ultrafeedback_binarized" and split == "train_prefs":
            return datasets.Dataset.from_list(uf)
        if path == "tatsu-lab/alpaca_eval" and name == "alpaca_eval" and split == "eval":
            return datasets.Dataset.from_list(ae)
        raise FileNotFoundError(path)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)


def test_ultrafeedback_task_runs_on_a_faked_hub_with_full_length_pairs(tmp_path, monkeypatch):
    _fake_hub(monkeypatch)
    tiny = {"name": "tiny-llama", "finetune": "full"}
    ov = (("model", tiny), ("judge", tiny), ("dataset_revision", "a" * 40), ("prompts_revision", "b" * 40),
          ("n_pairs", 6), ("n_val", 4), ("n_eval", 6), ("steps", 2), ("batch_size", 2), ("max_new_tokens", 4),
          ("tuning", False))
    status, p = run_cell(Cell("pref-ultrafeedback", "dpo", 0, smoke=False, task_overrides=ov), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert 0 <= r.metrics["lc_win_rate"].value <= 100 and r.artifacts["dropped_long_pairs"] == 0

    # unpinned revision: DataUnavailable, no silent default
    status, p = run_cell(Cell("pref-ultrafeedback", "sft_model", 0, smoke=False,
                              task_overrides=ov[:4] + (("dataset_revision", None),)), tmp_path)
    assert status != "ok" and "pin a dataset revision" in (read_record(p).error or "")
