"""The frozen trunk and the fast per-token loss give the numbers of the plain forward pass; top-layer fine-tuning
trains what it says; the training plug-ins (per-batch token weights, a fixed order) do what they say."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bench.lm import (BatchView, FrozenTrunk, ModelSpec, TrainConfig, collate, encode_sft, prepare_for_finetuning,
                      tiny_causal_lm, token_nll, token_nll_fast, train_sft)
from tasks.common import sorting


@pytest.fixture(scope="module")
def setup():
    tok = sorting.corpus_tokenizer()
    rng = np.random.default_rng(0)
    ex = [encode_sft(tok, sorting.make_prompt(xs), sorting.ideal(xs)) for xs in sorting.sample_lists(rng, 12)]
    model = tiny_causal_lm(len(tok), hidden=32, layers=3, heads=2, max_positions=64, seed=0,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id).eval()
    return tok, ex, model


def test_fast_nll_equals_the_plain_forward(setup):
    tok, ex, model = setup
    b = collate(ex, tok.pad_token_id)  # right-padded: lengths differ
    with torch.no_grad():
        a, ma = token_nll(model, b)
        f, mf = token_nll_fast(model, b)
    assert torch.equal(ma, mf)
    assert torch.allclose(a, f, atol=1e-5)


def test_trunk_plus_top_layers_equals_the_whole_model(setup, tmp_path):
    tok, ex, model = setup
    trunk = FrozenTrunk(model, n_top=1, cache_dir=tmp_path)
    b = collate(ex, tok.pad_token_id)
    with torch.no_grad():
        a, _ = token_nll(model, b)
        t, _ = token_nll_fast(model, b, trunk)
    assert torch.allclose(a, t, atol=1e-5)
    assert trunk.misses == len(ex)
    # a second pass (another method of the same seed) reads the cache; a new process reads the files
    with torch.no_grad():
        token_nll_fast(model, b, trunk)
    assert trunk.misses == len(ex)
    FrozenTrunk._mem.clear()
    FrozenTrunk._mem_bytes = 0
    fresh = FrozenTrunk(model, n_top=1, cache_dir=tmp_path)
    with torch.no_grad():
        t2, _ = token_nll_fast(model, b, fresh)
    assert fresh.misses == 0 and torch.equal(t, t2)


def test_top_layer_finetuning_trains_only_the_top(setup):
    tok, ex, model = setup
    lora = prepare_for_finetuning(copy.deepcopy(model), ModelSpec("tiny-llama", finetune="lora", lora_r=2,
                                                                  train_layers=1))
    names = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n and ".layers.2." in n for n in names)
    full = prepare_for_finetuning(copy.deepcopy(model), ModelSpec("tiny-llama", train_layers=2))
    names = {n.split(".layers.")[1].split(".")[0] for n, p in full.named_parameters() if p.requires_grad}
    assert names == {"1", "2"}
    assert not full.model.embed_tokens.weight.requires_grad  # tied with the head: the trunk's input stays fixed
    with pytest.raises(ValueError, match="exceeds the model's 3 decoder layers"):
        prepare_for_finetuning(copy.deepcopy(model), ModelSpec("tiny-llama", train_layers=4))


def test_training_through_the_trunk_matches_training_the_whole_model(setup, tmp_path):
    tok, ex, model = setup
    spec = ModelSpec("tiny-llama", finetune="lora", lora_r=2, train_layers=1)
    torch.manual_seed(0)
    a = prepare_for_finetuning(copy.deepcopy(model), spec)
    b = copy.deepcopy(a)
    cfg = TrainConfig(lr=1e-2, batch_size=4, max_steps=3)
    train_sft(a, ex, tok.pad_token_id, cfg, np.random.default_rng(1))
    train_sft(b, ex, tok.pad_token_id, cfg, np.random.default_rng(1), trunk=FrozenTrunk(model, 1, tmp_path))
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5), n


def test_a_zero_weight_from_the_plugin_equals_masking_and_the_plugin_sees_batch_indices(setup):
    tok, ex, model = setup
    seen = []

    def keep_first_label(view: BatchView):
        seen.append(view.indices.tolist())
        assert view.nll.shape == view.mask.shape and not view.nll.requires_grad
        w = torch.zeros_like(view.nll)
        for r in range(w.shape[0]):
            w[r, int(view.mask[r].nonzero()[0])] = 1.0
        return w

    masked = copy.deepcopy(ex)
    for e in masked:  # keep only each example's first labelled token
        first = next(i for i, x in enumerate(e["labels"]) if x != -100)
        e["labels"] = [x if i == first else -100 for i, x in enumerate(e["labels"])]
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    cfg = TrainConfig(lr=1e-2, batch_size=4, max_steps=3)
    order = np.array([5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6])
    out = train_sft(a, ex, tok.pad_token_id, cfg, np.random.default_rng(0), token_weight_fn=keep_first_label,
                    order=order)
    train_sft(b, masked, tok.pad_token_id, cfg, np.random.default_rng(0), order=order)
    assert seen == [[5, 4, 3, 2], [1, 0, 11, 10], [9, 8, 7, 6]]  # consecutive batches along the order
    assert out["tokens"] == 12 and out["static_tokens"] > 12
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_a_bad_plugin_output_is_an_error(setup):
    tok, ex, model = setup
    with pytest.raises(ValueError, match="token_weight_fn must return finite non-negative weights"):
        train_sft(copy.deepcopy(model), ex, tok.pad_token_id, TrainConfig(batch_size=4, max_steps=1),
                  np.random.default_rng(0), token_weight_fn=lambda v: -torch.ones_like(v.nll))
