"""lm-eval integration: our in-memory local tasks are scored by lm-evaluation-harness itself, and its numbers agree
with the same quantities computed directly (summed log-likelihoods, greedy decoding)."""
import numpy as np
import pytest

from bench.lm import collate, encode_sft, greedy_generate, sequence_logprob
from bench.lm.lm_eval_local import LocalTask, evaluate
from tasks.common import sorting as toy


@pytest.fixture(scope="module")
def trained():
    import torch

    from bench.lm import TrainConfig, tiny_causal_lm, train_sft

    torch.manual_seed(0)
    tok = toy.corpus_tokenizer()
    model = tiny_causal_lm(len(tok), hidden=48, layers=2, heads=4, max_positions=64, seed=1,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    rng = np.random.default_rng(0)
    ex = [encode_sft(tok, toy.make_prompt(xs), toy.ideal(xs)) for xs in toy.sample_lists(rng, 200)]
    train_sft(model, ex, tok.pad_token_id, TrainConfig(lr=3e-3, batch_size=16, max_steps=60), rng)
    return model, tok


def _mc_docs(rng, n):
    docs = []
    for xs in toy.sample_lists(rng, n):
        choices = [toy.ideal(xs).strip(), toy.corrupt(xs, rng, 1).strip(), toy.corrupt(xs, rng, 2).strip()]
        docs.append({"question": toy.make_prompt(xs), "choices": choices, "label": 0})
    return docs


def test_multiple_choice_matches_direct_loglikelihood(trained):
    import torch

    model, tok = trained
    docs = _mc_docs(np.random.default_rng(5), 24)
    res = evaluate(model, tok, [LocalTask("dcai_test_mc", "multiple_choice", docs)], log_samples=True)["dcai_test_mc"]
    ours = []
    for d, s in zip(docs, res["samples"]):
        ex = [encode_sft(tok, d["question"], " " + c, add_eos=False) for c in d["choices"]]
        with torch.no_grad():
            lp = sequence_logprob(model, collate(ex, tok.pad_token_id)).numpy()
        theirs = np.array([r[0][0] for r in s["resps"]])
        np.testing.assert_allclose(theirs, lp, atol=1e-4)
        ours.append(int(np.argmax(lp) == d["label"]))
    assert res["acc"] == pytest.approx(np.mean(ours))
    assert 0 < res["acc"] < 1, res["acc"]  # the check means something: some right, some wrong


def test_untrained_model_is_near_chance_on_multiple_choice():
    from bench.lm import tiny_causal_lm

    tok = toy.corpus_tokenizer()
    rng = np.random.default_rng(7)
    docs = []
    for xs in toy.sample_lists(rng, 300):
        choices = [toy.ideal(xs).strip(), toy.corrupt(xs, rng, 2).strip()]
        lab = int(rng.integers(2))
        docs.append({"question": toy.make_prompt(xs), "choices": choices if lab == 0 else choices[::-1], "label": lab})
    accs = []
    for seed in range(3):
        m = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=seed)
        accs.append(evaluate(m, tok, [LocalTask("dcai_chance", "multiple_choice", docs)])["dcai_chance"]["acc"])
    assert abs(np.mean(accs) - 0.5) < 0.08, accs


def test_generate_until_exact_match_matches_greedy_decoding(trained):
    from lm_eval import evaluator, utils

    model, tok = trained
    lists = toy.sample_lists(np.random.default_rng(9), 30)
    docs = [{"question": toy.make_prompt(xs), "answer": toy.ideal(xs)} for xs in lists]
    lib = (utils.apply_template, evaluator.add_env_info, evaluator.get_git_commit_hash)
    res = evaluate(model, tok, [LocalTask("dcai_test_gen", "generate_until", docs, max_gen_toks=16)],
                   log_samples=True)["dcai_test_gen"]
    # the prompts lm-eval scored are the documents' text (its templates compiled once by `evaluate`), and lm-eval's
    # own functions are back in place afterwards
    assert [s["arguments"][0][0] for s in res["samples"]] == [d["question"] for d in docs]
    assert (utils.apply_template, evaluator.add_env_info, evaluator.get_git_commit_hash) == lib
    outs = greedy_generate(model, tok, [d["question"] for d in docs], max_new_tokens=16)
    ours = [o.split("\n")[0].strip() == d["answer"].strip() for o, d in zip(outs, docs)]
    assert res["exact_match"] == pytest.approx(np.mean(ours))
    assert 0 < res["exact_match"] < 1  # the check means something: some right, some wrong


def test_local_task_rejects_malformed_documents():
    with pytest.raises(ValueError, match="lacks field"):
        LocalTask("x", "multiple_choice", [{"question": "q", "choices": ["a"]}])
    with pytest.raises(ValueError, match="out of range"):
        LocalTask("x", "multiple_choice", [{"question": "q", "choices": ["a"], "label": 3}])
    with pytest.raises(ValueError, match="kind"):
        LocalTask("x", "loglik", [{"question": "q", "answer": "a"}])
