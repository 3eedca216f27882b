import copy

import numpy as np
import pytest
import torch

from baselines.sft._common import global_top, labelled, token_losses
from baselines.sft.token_cleaning import token_influence
from bench.lm import TrainConfig, collate, encode_sft, tiny_causal_lm, train_sft
from bench.records import read_record
from bench.runner import Cell, plan, run_cell, run_sweep
from tasks.common import sorting as toy
from tasks.sft.env import build


@pytest.fixture(scope="module")
def tiny():
    tok = toy.corpus_tokenizer()
    base = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=0,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    ref = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=1,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    ex = [encode_sft(tok, "sort 3 1 2 :", " 1 2 3"), encode_sft(tok, "sort 9 5 :", " um 5 9")]
    return tok, base, ref, ex


def test_token_influence_equals_hand_computed_loss_difference(tiny):
    tok, base, ref, ex = tiny
    infl = token_influence(base, ref, ex, tok.pad_token_id)
    for i, e in enumerate(ex):
        ids = torch.tensor([e["input_ids"]])
        with torch.no_grad():
            lb = torch.log_softmax(base(input_ids=ids).logits[0], -1)
            lr = torch.log_softmax(ref(input_ids=ids).logits[0], -1)
        for t, lab in enumerate(e["labels"]):
            if lab == -100:
                assert infl[i][t] == 0.0
                continue
            # the token at position t is predicted from position t - 1
            want = float(-lb[t - 1, lab] + lr[t - 1, lab])
            assert infl[i][t] == pytest.approx(want, abs=1e-5)


def test_global_threshold_keeps_the_ratio_and_never_prompt_tokens(tiny):
    tok, base, ref, ex = tiny
    rng = np.random.default_rng(0)
    scores = [rng.random(len(e["input_ids"])) for e in ex]
    masks = [labelled(e) for e in ex]
    w = global_top(scores, masks, 0.5)
    kept = sum(int(wi[m].sum()) for wi, m in zip(w, masks))
    assert kept == int(np.ceil(0.5 * sum(m.sum() for m in masks)))
    assert all(wi[~m].sum() == 0 for wi, m in zip(w, masks))


def test_zero_weight_tokens_contribute_nothing_to_training(tiny):
    """Training with token weight 0 equals training with those labels masked to -100."""
    tok, base, _, ex = tiny
    w = [np.ones(len(e["input_ids"]), np.float32) for e in ex]
    w[1][labelled(ex[1]).nonzero()[0][0]] = 0.0  # drop the filler token " um"
    masked = copy.deepcopy(ex)
    masked[1]["labels"] = list(masked[1]["labels"])
    masked[1]["labels"][labelled(ex[1]).nonzero()[0][0]] = -100
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    cfg = TrainConfig(lr=1e-2, batch_size=2, max_steps=3)
    train_sft(a, ex, tok.pad_token_id, cfg, np.random.default_rng(0), token_weights=w)
    train_sft(b, masked, tok.pad_token_id, cfg, np.random.default_rng(0))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_token_cleaning_drops_filler_tokens_first(tmp_path):
    _, p = run_cell(Cell("sft-token-sort", "token_cleaning", 0, smoke=True), tmp_path)
    assert read_record(p).status == "smoke"
    from baselines.sft._common import RefConfig, train_reference

    d = build(np.random.default_rng(0), 200, 40, 10, 0.5, 0.0, 0)
    ref = train_reference(d.base, d.seed_examples, d.tokenizer.pad_token_id, RefConfig(), np.random.default_rng(0))
    infl = token_influence(d.base, ref, d.examples, d.tokenizer.pad_token_id)
    w = global_top(infl, [labelled(e) for e in d.examples], 0.6)
    filler_ids = {d.tokenizer(f, add_special_tokens=False)["input_ids"][0] for f in (" um", " well", " ok", " so")}
    kept_f, all_f, kept_o, all_o = 0, 0, 0, 0
    for e, wi in zip(d.examples, w):
        for t, lab in enumerate(e["labels"]):
            if lab == -100:
                continue
            if lab in filler_ids:
                all_f, kept_f = all_f + 1, kept_f + wi[t]
            else:
                all_o, kept_o = all_o + 1, kept_o + wi[t]
    assert all_f > 50 and kept_f / all_f < 0.5 * kept_o / all_o


def test_every_sft_method_runs_in_smoke_mode(tmp_path):
    s = run_sweep(plan(tasks=["sft-*"], smoke=True), tmp_path, progress=False)
    assert s.outcomes == {"smoke": len(s.paths)} and len(s.paths) == 26
    for p in s.paths:
        r = read_record(p)
        m = {k: v.value for k, v in r.metrics.items()}
        if r.task.endswith("-sort"):
            assert 0 <= m["exact_match"] <= 1
        else:
            assert m["answer_loglik"] < 0 and m["final_loglik"] < 0
        # repairs may add tokens (a rewrite can be longer than what it replaces)
        assert 0 < m["trained_tokens"] <= (1.5 if r.method == "entp_repair" else 1.0)


def test_bad_selection_is_rejected(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS
    from tasks.sft.tasks import Selection

    register_method("bad_sel", "sft.sample_selection")(lambda d, c, x: Selection(sample_weights=np.ones(3)))
    try:
        status, p = run_cell(Cell("sft-sample-sort", "bad_sel", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("bad_sel")
    assert status == "failed" and "sample_weights must be 80 non-negative numbers" in read_record(p).error


def test_bad_repair_is_rejected(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS
    from tasks.sft.tasks import Selection

    register_method("bad_fix", "sft.sample_selection")(lambda d, c, x: Selection(responses={999: " 1 2"}))
    try:
        status, p = run_cell(Cell("sft-sample-sort", "bad_fix", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("bad_fix")
    assert status == "failed" and "responses: keys must be example indices in [0, 80)" in read_record(p).error


def test_entp_priors_by_hand():
    from baselines.sft.entp_repair import Config, flags, grounded_part, repetition, robust_z, ungrounded

    assert ungrounded("sort 3 1 2 :", " 1 um 2 3") == pytest.approx(0.25)
    assert ungrounded("sort 3 1 2 :", " 1 2 3") == 0.0
    assert ungrounded("sort 3 1 2 :", " 1 1 2 3") == pytest.approx(0.25)  # multiset: a second 1 is not grounded
    assert grounded_part("sort 3 1 2 :", " 1 um 2 well 3") == " 1 2 3"
    assert repetition("a b a b a b".split()) == pytest.approx(1 - 2 / 5)
    assert repetition(["a"]) == 0.0
    z = robust_z(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert z[2] == 0.0 and z[4] == pytest.approx((100 - 3) / (1.4826 * 1.0))
    z = robust_z(np.array([1.0] * 9 + [3.0]))  # MAD is 0: scale falls back to 1.2533 * mean |x - median| = 0.2
    assert z[9] == pytest.approx(2.0 / (1.2533 * 0.2)) and z[0] == 0.0
    texts = [("sort 3 1 2 :", " 1 2 3")] * 9 + [("sort 3 1 2 :", " 1 2 3 3 3 3 3 3 3 3 3 3")]
    nll = np.array([0.1] * 9 + [0.1])
    f = flags(texts, nll, Config(priors=["length"]))
    assert f.tolist() == [False] * 9 + [True]
    assert flags(texts, nll, Config(priors=["perplexity"])).sum() == 0


def test_entp_repair_purges_and_repairs_low_quality_samples(tmp_path):
    _, p = run_cell(Cell("sft-sample-sort", "entp_repair", 0, smoke=True), tmp_path)
    _, q = run_cell(Cell("sft-sample-sort", "full_tokens", 0, smoke=True), tmp_path)
    r, full = read_record(p), read_record(q)
    assert r.status == "smoke", r.error
    a = r.artifacts
    assert a["purged"] > 0 and a["rewritten"] <= a["purged"]
    assert a["bad_fraction_kept"] < 0.5 * full.artifacts["bad_fraction_kept"]


def test_gsm8k_pool_noise_is_what_it_says():
    from tasks.sft.gsm8k import BOILERPLATE, GSM8KConfig, build, final_number, load_gsm8k

    rows = load_gsm8k()
    assert len(rows) == 1319 and final_number(rows[0]["answer"]) == "18"
    cfg = GSM8KConfig(n_train=300, n_seed=10, n_eval=10)
    d = build(np.random.default_rng(0), cfg, 0)
    golds = {r["question"]: r["answer"] for r in rows}
    n_bad = n_fill = 0
    for (p, r), bad, fill in zip(d.texts, d.is_bad, d.has_filler):
        gold = golds[p[len("Question: "):-len("\nAnswer:")]]
        has_bp = any(b.strip() in r for b in BOILERPLATE)
        assert has_bp == fill or (fill and not has_bp)  # boilerplate only where injected (a short answer may get none)
        clean = r
        for b in BOILERPLATE:
            clean = clean.replace(" " + b.strip(), "")
        assert (clean.split() != gold.split()) == bad  # corrupted exactly when marked bad
        n_bad, n_fill = n_bad + bad, n_fill + fill
    assert 0.15 < n_bad / 300 < 0.35 and 0.3 < n_fill / 300 < 0.5
    held = {p for p, _ in d.eval_pairs}
    assert not held & {p for p, _ in d.texts}  # held-out questions never in the pool


def test_gsm8k_heldout_loglik_matches_a_hand_computation():
    import torch

    from bench.lm import bpe_tokenizer
    from tasks.sft.gsm8k import heldout_loglik

    pairs = [("Question: 2+2?\nAnswer:", " 2 + 2 = 4. #### 4"), ("Question: 3*3?\nAnswer:", " 3 * 3 = 9 #### 9")]
    tok = bpe_tokenizer([p + a for p, a in pairs], vocab_size=300)
    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=3).eval()
    got = heldout_loglik(model, tok, pairs)

    def ll(prompt, resp):  # sum and count of log p(response tokens + EOS | prefix), one sequence at a time
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        r_ids = tok(resp, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = torch.tensor([p_ids + r_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1], -1)
        tgt = ids[0, 1:]
        lp = logp[torch.arange(len(tgt)), tgt][len(p_ids) - 1:]
        return float(lp.sum()), len(lp)

    s = [ll(p, a) for p, a in pairs]
    assert got["answer_loglik"] == pytest.approx(sum(x for x, _ in s) / sum(n for _, n in s), abs=1e-5)
    f = [ll(p + a.rsplit("####", 1)[0].rstrip(), " ####" + a.rsplit("####", 1)[1]) for p, a in pairs]
    assert got["final_loglik"] == pytest.approx(sum(x for x, _ in f) / sum(n for _, n in f), abs=1e-5)


def test_gsm8k_tasks_are_in_the_extended_suite_not_the_ten_minute_full_suite():
    full = {c.task for c in plan(suite="full")}
    ext = {c.task for c in plan(suite="extended")}
    assert {"sft-sample-gsm8k", "sft-token-gsm8k"} <= ext - full and full < ext
    assert {"sft-sample-gsm8k", "sft-token-gsm8k"} <= {c.task for c in plan(suite="smoke")}
