"""No silent truncation in the LM stack: sequence limits come from the tokenizer / model, an over-long pair is an
error naming the example, and even opt-in truncation refuses to drop a whole response."""
import pytest

from bench.lm import SequenceTooLong, collate, encode_sft, sequence_limit, tiny_causal_lm, token_nll
from tasks.common import sorting


@pytest.fixture(scope="module")
def tok():
    return sorting.corpus_tokenizer()


def test_sequence_limit_comes_from_the_tokenizer_and_the_model(tok):
    model = tiny_causal_lm(len(tok), hidden=16, layers=1, heads=2, max_positions=24, seed=0)
    assert sequence_limit(tok) is None  # a BPE without a declared limit (model_max_length = 1e30)
    assert sequence_limit(tok, model) == 24
    tok.model_max_length = 20
    try:
        assert sequence_limit(tok, model) == 20 and sequence_limit(tok) == 20
    finally:
        tok.model_max_length = int(1e30)


def test_an_over_long_pair_is_an_error_naming_the_example(tok):
    prompt, response = "sort 3 1 2 :", " 1 2 3 4 5 6 7 8 9"
    full = encode_sft(tok, prompt, response)
    n_p = full["n_prompt"]
    assert full["n_truncated"] == 0 and len(full["input_ids"]) > n_p + 3
    with pytest.raises(SequenceTooLong, match=r"example 'pool 7'.*exceed the sequence limit 8"):
        encode_sft(tok, prompt, response, max_length=8, name="pool 7")
    # opt-in truncation keeps what fits and says how much it cut
    cut = encode_sft(tok, prompt, response, max_length=n_p + 2, truncation=True)
    assert len(cut["input_ids"]) == n_p + 2 and cut["n_truncated"] == len(full["input_ids"]) - n_p - 2
    assert sum(x != -100 for x in cut["labels"]) == 2
    # ... but never a response with no token left: that would train on nothing and report a zero loss
    with pytest.raises(SequenceTooLong, match="no response token would be trained on"):
        encode_sft(tok, prompt, response, max_length=n_p, truncation=True, name=3)


def test_a_fully_truncated_response_would_have_given_a_zero_loss(tok):
    """What the error prevents: the old cap silently produced examples without labels, whose loss is 0."""
    model = tiny_causal_lm(len(tok), hidden=16, layers=1, heads=2, max_positions=64, seed=0)
    ex = encode_sft(tok, "sort 3 1 2 :", " 1 2 3")
    ex["labels"] = [-100] * len(ex["labels"])  # what truncating at the prompt boundary used to produce
    nll, mask = token_nll(model, collate([ex], tok.pad_token_id))
    assert int(mask.sum()) == 0 and float(nll.sum()) == 0.0


def test_each_gpt2_tokenizer_call_hands_out_its_own_copy():
    """A task setting its tokenizer's limit must not shorten the sequences of the next task or test in the process."""
    from bench.lm import gpt2_tokenizer, sequence_limit

    a, b = gpt2_tokenizer(), gpt2_tokenizer()
    before = sequence_limit(b)
    a.model_max_length, a.padding_side = 96, "left"
    assert a is not b and sequence_limit(b) == before and b.padding_side != "left"
    assert gpt2_tokenizer()("hello world")["input_ids"] == b("hello world")["input_ids"]
    # its built files live in the suite's cache directory (DCAI_CACHE_DIR), like every other cache
    from bench.lm.tokenizers import _gpt2_tokenizer
    from bench.paths import cache_dir

    _gpt2_tokenizer.cache_clear()  # the process's copy may come from another test's cache directory
    gpt2_tokenizer()
    assert list(cache_dir().glob("gpt2-tokenizer-*/tokenizer.json"))


def test_one_thread_policy_for_the_lm_families(monkeypatch):
    """bench.lm.set_torch_threads: one thread for the embedded tiny models; OMP_NUM_THREADS for pretrained models when
    set (the one-thread lanes of the paper tier), else every core."""
    import os

    import torch

    from bench.lm import set_torch_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert set_torch_threads(tiny=True) == 1 == torch.get_num_threads()
        assert set_torch_threads(tiny=False) == 3 == torch.get_num_threads()
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert set_torch_threads(tiny=False) == (os.cpu_count() or 1) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
