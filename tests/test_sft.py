"""SFT selection: definitions checked by hand (token influence, Rho-1's per-batch rule, the self-evolving chain, DS2's
curation), the contract's errors and hidden-truth boundary, the noise injection. Every method's smoke run, determinism
and beating the null on the easy task are the registry-driven conformance checks (tests/test_conformance.py)."""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from baselines.sft._common import global_top, labelled
from bench.contract import ContractError
from bench.lm import FrozenTrunk, TrainConfig, collate, encode_sft, tiny_causal_lm, train_sft
from bench.records import read_record
from bench.runner import Cell, plan, run_cell
from tasks.common import sorting as toy
from tasks.sft.contract import Selection, TrainBudget
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


def _view(tok, base, ex, seed_ex=(), tmp=None, spec=None, trunk=None):
    return SimpleNamespace(tokenizer=tok, base=base, examples=list(ex), texts=[("", "")] * len(ex),
                           seed_examples=list(seed_ex), budget=TrainBudget(4, 2, 1e-2, 2.0), spec=spec, trunk=trunk,
                           cache_dir=tmp, pad_id=tok.pad_token_id, judge=None, max_length=64)


def _hand_nll(model, e):
    ids = torch.tensor([e["input_ids"]])
    with torch.no_grad():
        lp = torch.log_softmax(model(input_ids=ids).logits[0], -1)
    return [0.0 if lab == -100 else float(-lp[t - 1, lab]) for t, lab in enumerate(e["labels"])]


def test_token_influence_equals_hand_computed_loss_difference(tiny, tmp_path):
    from baselines.sft._common import base_losses, reference_losses
    from baselines.sft.token_cleaning import token_influence

    tok, base, ref, ex = tiny
    v = _view(tok, base, ex, tmp=tmp_path)
    ref._dcai_key = "test-ref"
    infl = token_influence(v, ref)
    for i, e in enumerate(ex):
        want = np.array(_hand_nll(base, e)) - np.array(_hand_nll(ref, e))
        assert infl[i] == pytest.approx(want, abs=1e-5)
    # cached by content: a second call (another method of the seed) returns the stored arrays
    assert base_losses(v)[0] is base_losses(v)[0] and reference_losses(v, ref)[1] is reference_losses(v, ref)[1]


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
    c = copy.deepcopy(base)  # the same token with weight 1: training must differ far beyond the tolerance below
    train_sft(c, ex, tok.pad_token_id, cfg, np.random.default_rng(0))
    # 1e-5: float reduction order differs between the weighted and the masked sum (multi-threaded BLAS gave 2.6e-6)
    assert max(float((pa - pb).abs().max()) for pa, pb in zip(a.parameters(), b.parameters())) < 1e-5
    assert max(float((pc - pb).abs().max()) for pc, pb in zip(c.parameters(), b.parameters())) > 1e-3


def test_rho1_keeps_the_batch_top_excess_loss_of_the_current_model(tiny, tmp_path, monkeypatch):
    import baselines.sft.rho1 as rho

    tok, base, ref, ex = tiny
    ref._dcai_key = "test-ref-rho"
    monkeypatch.setattr(rho, "reference_model", lambda data, cfg: ref)
    v = _view(tok, base, ex, tmp=tmp_path)
    sel = rho.rho1(v, rho.Config(keep_ratio=0.5), SimpleNamespace())
    b = collate(ex, tok.pad_token_id)
    from bench.lm import token_nll

    cur = copy.deepcopy(base)
    with torch.no_grad():  # pretend the current training model moved away from the base
        for p in cur.parameters():
            p.add_(0.05 * torch.randn_like(p))
        nll, mask = token_nll(cur, b)
    from bench.lm.train import BatchView

    w = sel.token_weight_fn(BatchView(0, np.array([0, 1]), nll, mask, cur))
    excess = []
    for i, e in enumerate(ex):
        r = _hand_nll(ref, e)
        excess += [(float(nll[i, t]) - r[t], i, t) for t in range(len(e["labels"])) if e["labels"][t] != -100]
    k = int(np.ceil(0.5 * len(excess)))
    want = {(i, t) for _, i, t in sorted(excess, reverse=True)[:k]}
    got = {(i, t) for i, t in zip(*np.nonzero(w.numpy()))}
    assert got == want


def test_self_evolving_scores_each_subset_with_the_two_latest_models_of_the_chain(tmp_path):
    """Subset k's weights = top keep_ratio of loss(M_{k-2}) - loss(M_{k-1}), where M_j is the training model after
    subsets 0..j (M_{-1} = base); checked by replaying the chain by hand."""
    from baselines.sft.token_cleaning_self_evolving import Config, token_cleaning_self_evolving
    from bench.lm import token_nll_fast

    tok = toy.corpus_tokenizer()
    rng = np.random.default_rng(3)
    ex = [encode_sft(tok, toy.make_prompt(xs), toy.ideal(xs)) for xs in toy.sample_lists(rng, 12)]
    base = tiny_causal_lm(len(tok), hidden=32, layers=2, heads=2, max_positions=64, seed=2,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    v = _view(tok, base, ex, tmp=tmp_path)
    ctx = SimpleNamespace(rng=np.random.default_rng(0), add_artifact=lambda *a: None)
    sel = token_cleaning_self_evolving(v, Config(keep_ratio=0.5, chunks=3), ctx)
    order = np.asarray(sel.order)
    assert sorted(order.tolist()) == list(range(12))
    cfg = TrainConfig(lr=1e-2, batch_size=4, max_steps=3)  # one batch per subset of 4
    model = copy.deepcopy(base)
    got = {}

    def spy(view):
        w = sel.token_weight_fn(view)
        got[view.step] = w.clone()
        return w

    train_sft(model, ex, tok.pad_token_id, cfg, np.random.default_rng(0), order=order, token_weight_fn=spy)
    chain = [copy.deepcopy(base)]  # M_{-1}
    m = copy.deepcopy(base)
    for k in range(3):
        chunk = order[4 * k: 4 * k + 4]
        b = collate([ex[i] for i in chunk], tok.pad_token_id)
        if k == 0:
            want = b["labels"].ne(-100).float() * 0 + 1
        else:
            with torch.no_grad():
                old, mask = token_nll_fast(chain[-2].eval(), b)
                cur, _ = token_nll_fast(chain[-1].eval(), b)
            infl = [(old - cur)[i, : len(ex[j]["input_ids"])].numpy() for i, j in enumerate(chunk)]
            w = global_top(infl, [labelled(ex[j]) for j in chunk], 0.5)
            want = torch.zeros_like(old)
            for i, wi in enumerate(w):
                want[i, : len(wi)] = torch.as_tensor(wi)
        assert torch.equal(got[k] * b["labels"].ne(-100), want * b["labels"].ne(-100)), k
        # advance the hand chain by the same step the harness took
        train_sft(m, [ex[i] for i in chunk], tok.pad_token_id, TrainConfig(lr=1e-2, batch_size=4, max_steps=1),
                  np.random.default_rng(0), order=np.arange(4), token_weights=[want[i, : len(ex[j]["input_ids"])].numpy()
                                                                               for i, j in enumerate(chunk)])
        chain.append(copy.deepcopy(m))


def test_ds2_recovers_a_score_transition_matrix_and_curates_flipped_scores():
    from baselines.sft.ds2 import consensus, curate, fit_transition, long_tail, select

    rng = np.random.default_rng(0)
    n, K = 600, 6
    true = rng.integers(0, K, n)
    centers = rng.normal(size=(K, 16)) * 3
    E = centers[true] + rng.normal(size=(n, 16)) * 0.5
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    T_true = np.full((K, K), 0.2 / (K - 1)) + np.eye(K) * (0.8 - 0.2 / (K - 1))
    noisy = np.array([rng.choice(K, p=T_true[y]) for y in true])
    T, p = fit_transition(consensus(noisy, E, rng, 20), 1501, 0)
    assert np.abs(np.diag(T) - 0.8).mean() < 0.05 and np.abs(np.diag(T) - 0.8).max() < 0.15
    assert np.abs(p - 1 / K).max() < 0.05
    cur, err = curate(noisy, E, T, p, rng, 10, 21, 0.5)
    assert (cur == true).mean() > (noisy == true).mean() + 0.1  # curation repairs most flipped scores
    lt = long_tail(E, 10)
    D = 1 - E @ E.T
    want = 2 / (1 + np.exp(-np.sort(D[0])[:10].mean())) - 1
    assert lt[0] == pytest.approx(round(want, 4), abs=1e-4)
    w = select(np.array([5, 5, 4, 4, 4, 0]), np.array([0.1, 0.2, 0.3, 0.9, 0.5, 1.0]), 4)
    assert sorted(w.tolist()) == [0, 1, 3, 4]  # all 5s, then the most long-tail 4s


def test_ds2_nearest_neighbours_are_the_stable_argsort_ties_included():
    from baselines.sft.ds2 import smallest_k

    rng = np.random.default_rng(1)
    for n, k, ties in [(300, 10, False), (300, 3, True), (40, 10, True), (12, 10, True), (10, 10, False), (5, 1, True)]:
        E = rng.normal(size=(n, 8))
        if ties:  # duplicated rows and rounded distances: many equal values, also at the k-th place
            E[::3], E[1::7] = E[0], E[1]
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        D = 1.0 - E @ E.T
        D = np.round(D, 2) if ties else D
        want = np.argsort(D, axis=1, kind="stable")[:, :k]
        assert np.array_equal(smallest_k(D, k), want), (n, k, ties)
    D = np.array([[0.0, 0.5, 0.5, 0.5, 0.1]])  # the boundary tie goes to the smaller column indices
    assert smallest_k(D, 3).tolist() == [[0, 4, 1]]
    assert smallest_k(D, 0).shape == (1, 0) and smallest_k(D, 9).tolist() == [[0, 4, 1, 2, 3]]


def test_llm_rating_reads_the_judges_next_token_distribution(tmp_path):
    from baselines.sft._rating import SCORES, _judge_prompt, llm_ratings

    tok = toy.corpus_tokenizer()
    judge = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=256, seed=5,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id).eval()
    texts = [("sort 3 1 2 :", " 1 2 3"), ("sort 9 5 :", " 9 5 5 5")]
    v = SimpleNamespace(judge=(judge, tok), base=None, texts=texts, cache_dir=tmp_path, trunk=None)
    r, rater = llm_ratings(v, None, None)
    digits = [tok(d, add_special_tokens=False)["input_ids"][0] for d in SCORES]
    for (p, a), got in zip(texts, r):
        ids = torch.tensor([tok(_judge_prompt(tok, p, a), add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            want = int(torch.argmax(judge(input_ids=ids).logits[0, -1, digits]))
        assert got == want
    assert rater == "prompted_judge"


def test_contract_errors_name_what_is_wrong():
    n, lengths = 3, [4, 5, 6]
    good = Selection(token_weights=[np.ones(k) for k in lengths])
    good.validate(n=n, lengths=lengths)
    cases = [
        (Selection(sample_weights=np.ones(2)), "sample_weights must be 3 non-negative numbers"),
        (Selection(sample_weights=np.zeros(3)), "keep no sample"),
        (Selection(token_weights=[np.ones(4), np.ones(5)]), "one array per pool example"),
        (Selection(token_weights=[np.ones(4), np.ones(5), np.ones(7)]), "token_weights\\[2\\] has length 7"),
        (Selection(token_weights=[np.ones(4), -np.ones(5), np.ones(6)]), "finite and non-negative"),
        (Selection(responses={7: " x"}), "keys must be example indices in \\[0, 3\\)"),
        (Selection(responses={0: "  "}), "responses\\[0\\] is empty"),
        (Selection(responses={0: " x"}, token_weights=[np.ones(k) for k in lengths]), "cannot be combined"),
        (Selection(order=np.array([0, 3])), "order: indices must lie in \\[0, 3\\)"),
        (Selection(token_weight_fn=3), "must be callable"),
    ]
    for sel, msg in cases:
        with pytest.raises(ContractError, match=msg):
            sel.validate(n=n, lengths=lengths)
    assert Selection.coerce(np.ones(3)).sample_weights is not None


def test_bad_selections_fail_the_cell_with_the_contracts_message(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS

    register_method("bad_sel", "sft.sample_selection")(lambda d, c, x: Selection(sample_weights=np.ones(3)))
    register_method("bad_fix", "sft.sample_selection")(lambda d, c, x: Selection(responses={999: " 1 2"}))
    try:
        s1, p1 = run_cell(Cell("sft-sample-sort", "bad_sel", 0, smoke=True), tmp_path)
        s2, p2 = run_cell(Cell("sft-sample-sort", "bad_fix", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("bad_sel")
        METHODS.remove("bad_fix")
    assert s1 == "failed" and "sample_weights must be 32 non-negative numbers" in read_record(p1).error
    assert s2 == "failed" and "responses: keys must be example indices in [0, 32)" in read_record(p2).error


def test_methods_see_no_hidden_truth_and_cannot_touch_the_harness_base(tmp_path):
    from bench.api import register_method
    from bench.registry import METHODS
    from tasks.sft.contract import SFTView

    seen = {}

    def spy(data, cfg, ctx):
        seen["type"] = type(data)
        seen["fields"] = set(vars(data))
        with torch.no_grad():
            for p in data.base.parameters():
                p.zero_()  # vandalise the method's copy
        return Selection()

    register_method("spy_sel", "sft.token_selection")(spy)
    try:
        s, p = run_cell(Cell("sft-token-sort", "spy_sel", 0, smoke=True), tmp_path)
        _, q = run_cell(Cell("sft-token-sort", "full_tokens", 0, smoke=True), tmp_path)
    finally:
        METHODS.remove("spy_sel")
    assert seen["type"] is SFTView
    assert not seen["fields"] & {"is_bad", "has_filler", "eval_lists", "eval_pairs", "is_ideal", "extra"}
    # the harness trained its own copy of the base: same numbers as the do-nothing baseline
    assert read_record(p).metrics["answer_loglik"].value == read_record(q).metrics["answer_loglik"].value


def test_entp_priors_by_hand():
    from baselines.sft.entp_repair import Config, flags, grounded_part, repetition, robust_z, ungrounded

    assert "grounding" not in Config().priors  # the oracle-like prior is an opt-in ablation
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
    texts2 = [("sort 3 1 2 :", " 1 um 3")] + texts[:9]  # as long as the others: only grounding can flag it
    assert flags(texts2, nll, Config()).tolist()[0] is False
    assert flags(texts2, nll, Config(priors=["grounding"])).tolist()[0] is True


def test_gsm8k_pool_noise_is_what_it_says():
    from tasks.sft.gsm8k import BOILERPLATE, GSM8KConfig, build, final_number, load_gsm8k

    rows = load_gsm8k()
    assert len(rows) == 1319 and final_number(rows[0]["answer"]) == "18"
    assert "<<" not in load_gsm8k(strip_calculator=True)[1]["answer"] and "<<" in rows[1]["answer"]
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
    assert all(e["n_truncated"] == 0 for e in d.examples)  # v1 silently cut 17 % of these pairs at 256 tokens


def test_gsm8k_heldout_loglik_matches_a_hand_computation():
    from bench.lm import bpe_tokenizer
    from tasks.sft.gsm8k import heldout_loglik

    pairs = [("Question: 2+2?\nAnswer:", " 2 + 2 = 4. #### 4"), ("Question: 3*3?\nAnswer:", " 3 * 3 = 9 #### 9")]
    tok = bpe_tokenizer([p + a for p, a in pairs], vocab_size=300)
    model = tiny_causal_lm(len(tok), hidden=32, layers=2, heads=2, max_positions=64, seed=3).eval()

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
    f = [ll(p + a.rsplit("####", 1)[0].rstrip(), " ####" + a.rsplit("####", 1)[1]) for p, a in pairs]
    for trunk in (None, FrozenTrunk(model, 1)):  # also through the frozen trunk of the pretrained tier
        got = heldout_loglik(model, tok, pairs, trunk=trunk)
        assert got["answer_loglik"] == pytest.approx(sum(x for x, _ in s) / sum(n for _, n in s), abs=1e-5)
        assert got["final_loglik"] == pytest.approx(sum(x for x, _ in f) / sum(n for _, n in f), abs=1e-5)


def test_suites_smoke_full_extended_paper():
    full = {c.task for c in plan(suite="full")}
    ext = {c.task for c in plan(suite="extended")}
    paper = {c.task for c in plan(suite="paper")}
    smoke = {c.task for c in plan(suite="smoke")}
    assert {"sft-sample-gsm8k", "sft-token-gsm8k"} <= ext - full and full < ext
    assert {"sft-token-gsm8k-smollm2", "sft-sample-gsm8k-smollm2"} <= paper - smoke  # smoke sizes run in tests
    assert {"sft-token-sort", "sft-sample-sort"} <= full & smoke
    from bench.registry import TASKS

    for name in ("sft-token-sort", "sft-sample-sort", "sft-token-gsm8k", "sft-sample-gsm8k"):
        assert TASKS.get(name).default_seeds >= 5
    for name in paper & {"sft-token-gsm8k-smollm2", "sft-sample-gsm8k-smollm2"}:
        assert TASKS.get(name).default_seeds >= 3


def test_embedded_env_builds_without_the_grounded_flag():
    d = build(np.random.default_rng(0), 20, 5, 5, 0.5, 0.3, 0)
    assert not hasattr(d, "grounded_responses") and d.max_length == 64


def test_kept_token_diagnostic_types_tokens_and_reads_the_selectors_weights():
    """benchmarks/sft_kept_tokens.py (docs/sft.md's diagnostic of the self-evolving chain): token types on hand-made
    responses, and on a smoke run its per-type shares are the methods' own weights."""
    from conftest import benchmark_script

    kt = benchmark_script("sft_kept_tokens")
    tok = toy.corpus_tokenizer()
    ids = tok(" 1 um 2 3", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    types = kt.sort_types(tok, ids, np.arange(len(ids)))
    assert types[0] == "number" and types[-2:] == ["number", "eos"] and set(types[1:-3]) == {"filler"}
    # GSM8K: the boilerplate sentence, the solution and the final line, by characters
    from bench.lm import gpt2_tokenizer

    g = gpt2_tokenizer()
    ids = g(" 3+4=7. Hmm, okay. So 7.\n#### 7", add_special_tokens=False)["input_ids"]
    types = kt.gsm8k_types(g, ids, np.arange(len(ids)))
    text = [g.decode([i]) for i in ids]
    assert [t for t, x in zip(types, text) if x.strip() in ("Hmm", ",", "okay")] == ["boilerplate"] * 3
    assert types[-2:] == ["final line"] * 2 and types[0] == "solution"
    # a smoke run: one pass for the fixed reference, one per subset after the warm-up for the chain; the shares
    # are the fraction of each type's response tokens with weight 1, beside the mean losses whose difference scored them
    res = kt.run("sft-token-sort", 0, smoke=True)
    tc, se = res["token_cleaning"]["passes"], res["token_cleaning_self_evolving"]["passes"]
    assert len(tc) == 1 and len(se) == 4
    assert set(tc[0]) == {"eos", "filler", "number"}
    assert all(0.0 <= s <= 1.0 and n > 0 and np.isfinite([a, b]).all() for p in tc + se for s, n, a, b in p.values())
    total = sum(n for _, n, _, _ in tc[0].values())
    kept = sum(s * n for s, n, _, _ in tc[0].values())
    assert kept / total == pytest.approx(res["token_cleaning"]["metrics"]["trained_tokens"], abs=0.01)
    # the ablation forces a type's weight in the chain's chosen subsets only
    ab = kt.run("sft-token-sort", 0, smoke=True, methods=("token_cleaning_self_evolving",),
                force={"filler": 0.0}, force_in="last")["token_cleaning_self_evolving"]["passes"]
    assert ab[-1]["filler"][0] == 0.0 and ab[:-1] == se[:-1]
    with pytest.raises(ValueError, match="--force"):
        kt.run("sft-token-sort", 0, smoke=True, force={"final line": 1.0})
