"""The one training loop of the LM families (bench.lm.loop) and LoRA fine-tuning through it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.lm import ModelSpec, collate, encode_sft, prepare_for_finetuning, tiny_causal_lm, token_nll
from bench.lm.loop import LoopConfig, NonFiniteLoss, optimize
from tasks.common import sorting


@pytest.fixture(scope="module")
def tok():
    return sorting.corpus_tokenizer()


def _batch(tok):
    rng = np.random.default_rng(0)
    ex = [encode_sft(tok, sorting.make_prompt(xs), sorting.ideal(xs)) for xs in sorting.sample_lists(rng, 16)]
    return collate(ex, tok.pad_token_id)


def test_lora_trains_only_the_adapters_and_lowers_the_loss(tok):
    model = tiny_causal_lm(len(tok), hidden=32, layers=2, heads=2, seed=0, eos_token_id=tok.eos_token_id,
                           pad_token_id=tok.pad_token_id)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    lora = prepare_for_finetuning(model, ModelSpec("tiny-llama", finetune="lora", lora_r=4))
    batch = _batch(tok)
    before = float(token_nll(lora, batch, reduction="mean"))
    out = optimize(lora, lambda s: token_nll(lora, batch, reduction="mean"), LoopConfig(steps=30, lr=1e-2))
    after = float(token_nll(lora, batch, reduction="mean"))
    assert after < before - 0.1 and len(out["losses"]) == 30
    trained = {n for n, p in lora.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in n for n in trained)
    merged = lora.get_base_model()
    # the frozen base weights did not move (adapters hold the change)
    for k, v in merged.state_dict().items():
        if "lora_" not in k and k.replace("base_layer.", "") in base:
            assert torch.equal(v, base[k.replace("base_layer.", "")]), k


def test_full_finetuning_is_the_model_itself(tok):
    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, seed=0, eos_token_id=tok.eos_token_id)
    assert prepare_for_finetuning(model, ModelSpec("tiny-llama")) is model
    with pytest.raises(ValueError, match="finetune must be"):
        ModelSpec("tiny-llama", finetune="qlora")


def test_a_non_finite_loss_stops_training_naming_the_step(tok):
    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, seed=0, eos_token_id=tok.eos_token_id)
    batch = _batch(tok)

    def loss_step(s):
        loss = token_nll(model, batch, reduction="mean")
        return loss * float("nan") if s == 3 else loss

    with pytest.raises(NonFiniteLoss, match="at step 3"):
        optimize(model, loss_step, LoopConfig(steps=10, lr=1e-3))
