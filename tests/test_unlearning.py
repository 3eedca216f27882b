import math

import numpy as np
import pytest
import torch

from baselines.unlearning.flat import flat_loss
from baselines.unlearning.npo import npo_loss
from bench.errors import DataUnavailable
from bench.records import read_record
from bench.runner import Cell, run_cell
from tasks.unlearning import metrics as M
from tasks.unlearning.data import generate


@pytest.mark.parametrize("pred,ref", [
    ("Sabel Hollins was born in Tunis.", "Sabel Hollins was born in Tunis."),
    ("Hollins was born in Lima, I think", "Sabel Hollins was born in Tunis."),
    ("the cat sat on the mat", "the mat sat on a cat"),
    ("", "anything at all"),
])
def test_rouge_l_matches_rouge_score(pred, ref):
    from rouge_score import rouge_scorer

    want = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False).score(ref, pred)["rougeL"]
    got = M.rouge_l(pred, ref)
    assert got["recall"] == pytest.approx(want.recall) and got["precision"] == pytest.approx(want.precision)
    assert got["f"] == pytest.approx(want.fmeasure)


def test_rouge_l_hand_computed():
    # LCS("a b c d", "a c d e") = "a c d" = 3: recall 3/4, precision 3/4
    assert M.rouge_l("a b c d", "a c d e") == {"precision": 0.75, "recall": 0.75, "f": 0.75}


def test_truth_ratio_hand_computed():
    # paraphrase mean NLL ln 2 -> p = 1/2; perturbed NLLs ln 4, ln 8 -> p = 1/4, 1/8, mean 3/16 -> R = 3/8
    tr = M.truth_ratio(np.array([math.log(2)]), np.array([[math.log(4), math.log(8)]]))
    assert tr[0] == pytest.approx(3 / 8)


def test_forget_quality_is_the_ks_p_value():
    a = np.array([0.1, 0.2, 0.3, 0.4])
    assert M.forget_quality(a, a) == pytest.approx(1.0)
    # disjoint samples of 4 and 4: exact two-sided KS p-value = 2 / C(8, 4) = 2 / 70
    assert M.forget_quality(a, a + 10) == pytest.approx(2 / 70)


def test_model_utility_is_the_harmonic_mean():
    assert M.model_utility([0.5, 1.0, 1.0]) == pytest.approx(3 / (2 + 1 + 1))
    assert M.model_utility([0.5, 0.0]) == 0.0


def test_min_k_mia_and_privleak_hand_computed():
    assert M.min_k_prob(np.array([-1.0, -5.0, -2.0, -0.5, -3.0]), k=0.4) == pytest.approx(-4.0)  # two lowest
    assert M.mia_auc(np.array([-1.0, -2.0]), np.array([-3.0, -1.5])) == pytest.approx(0.75)
    assert M.priv_leak(0.75, 0.5) == pytest.approx(50.0) and M.priv_leak(0.5, 0.5) == 0.0


def test_flat_losses_hand_computed():
    pe, pf = torch.tensor([0.6]), torch.tensor([0.2])
    assert float(flat_loss(pe, pf, "kl")) == pytest.approx(-(0.6 - math.exp(0.2 - 1)))
    assert float(flat_loss(pe, pf, "pearson")) == pytest.approx(-(0.6 - (0.04 / 4 + 0.2)))
    assert float(flat_loss(pe, pf, "tv")) == pytest.approx(-(0.5 * math.tanh(0.6) - 0.5 * math.tanh(0.2)))
    g = lambda v: math.log(2) - math.log(1 + math.exp(-v))  # noqa: E731
    assert float(flat_loss(pe, pf, "js")) == pytest.approx(-(g(0.6) + math.log(2 - math.exp(g(0.2)))))


def test_npo_loss_hand_computed_and_ga_limit():
    lp, lr = torch.tensor([-2.0]), torch.tensor([-1.0])
    beta = 0.5
    assert float(npo_loss(lp, lr, beta)) == pytest.approx((2 / beta) * math.log(1 + math.exp(beta * -1.0)))
    # as beta -> 0 the gradient w.r.t. log p tends to GA's (+1 per unit of log-likelihood)
    x = torch.tensor([-2.0], requires_grad=True)
    npo_loss(x, lr, 1e-4).sum().backward()
    assert float(x.grad) == pytest.approx(1.0, abs=1e-3)


def test_synthetic_benchmark_shape():
    b = generate(np.random.default_rng(0), n_authors=40, forget_fraction=0.1)
    assert len(b.forget) == 16 and len(b.retain) == 144 and len(b.holdout) == 16
    qa = b.forget[0]
    assert qa.answer != qa.paraphrase and len(qa.perturbed) == 3 and qa.answer.split()[0] in qa.paraphrase
    names_f = {q.question for q in b.forget}
    assert not names_f & {q.question for q in b.retain}


def test_retain_reference_scores_forget_quality_1_and_target_scores_low(tmp_path):
    met = {}
    for m in ("retain_model", "target_model"):
        status, p = run_cell(Cell("unlearn-tofu-synth-forget10", m, 0), tmp_path)
        assert status == "ok", read_record(p).error
        met[m] = {k: v.value for k, v in read_record(p).metrics.items()}
    # the KS test on 16 forget questions is coarse (target seeds range 0.01-0.21), so the target's bound is loose;
    # its forget ROUGE shows the memorisation plainly
    assert met["retain_model"]["forget_quality"] == pytest.approx(1.0) and met["target_model"]["forget_quality"] < 0.25
    assert met["target_model"]["forget_rouge"] > 0.9 > met["retain_model"]["forget_rouge"] + 0.2
    status, p = run_cell(Cell("unlearn-muse-synth-forget10", "retain_model", 0), tmp_path)
    assert read_record(p).metrics["privleak_abs"].value == 0.0


@pytest.mark.parametrize("pred,ref", [
    ("in the town the wizard found a key", "in the town the wizard found a silver key"),
    ("a b c d e f g", "a b c d e f g"),
    ("completely different words here", "nothing in common at all"),
    ("the cat the cat the cat", "the cat sat on the mat"),
])
def test_bleu_matches_sacrebleu_on_fixed_strings(pred, ref):
    import sacrebleu

    from tasks.unlearning.copyright import bleu

    assert bleu(pred, ref) == pytest.approx(sacrebleu.sentence_bleu(pred, [ref]).score, abs=1e-6)


def test_copyright_task_smoke_runs_with_reference_rows(tmp_path):
    out = {}
    for m in ("target_model", "retain_model", "flat"):
        status, p = run_cell(Cell("unlearn-copyright-synthbook", m, 0, smoke=True), tmp_path)
        assert status == "smoke", read_record(p).error
        out[m] = read_record(p).metrics
    assert out["retain_model"]["rougeL_forget"].value < out["target_model"]["rougeL_forget"].value


def test_copyright_mc_task_is_balanced_so_a_constant_answer_scores_chance():
    from tasks.unlearning.copyright import mc_task
    from tasks.unlearning.data import world_facts

    world = world_facts()
    docs = mc_task(world).docs
    trained_words = {w for q in world for w in q.answer.split()}
    for q in world:  # distractors differ from the truth and use only words the model was trained on
        assert q.answer not in q.perturbed and len(set(q.perturbed)) == 3
        assert all(set(p.split()) <= trained_words for p in q.perturbed)
    labels = np.array([d["label"] for d in docs])
    for j in range(4):
        assert np.mean(labels == j) == 0.25
    assert all(d["choices"][d["label"]] == q.answer for d, q in zip(docs, world))


def test_copyright_task_takes_a_model_spec_instead_of_the_tiny_default(tmp_path):
    status, p = run_cell(Cell("unlearn-copyright-synthbook", "target_model", 0, smoke=True,
                              task_overrides={"model": "tiny-gpt2"}), tmp_path)
    r = read_record(p)
    assert status == "smoke", r.error
    assert r.config["task_config"]["model"] == "tiny-gpt2" and 0 <= r.metrics["mc_accuracy"].value <= 1
    status, p = run_cell(Cell("unlearn-copyright-synthbook", "target_model", 0, smoke=True,
                              task_overrides={"model": "facebook/opt-2.7b"}), tmp_path)
    assert status == "failed" and "pin a revision" in read_record(p).error


def _tofu_rows(n, tag, k=3, paraphrase=True):
    rows = []
    for i in range(n):
        r = {"question": f"Where was {tag} author {i} born?", "answer": f"{tag} author {i} was born in city {i}.",
             "perturbed_answer": [f"{tag} author {i} was born in city {i + j + 1}." for j in range(k)]}
        if paraphrase:
            r["paraphrased_answer"] = f"The birthplace of {tag} author {i} is city {i}."
        rows.append(r)
    return rows


def test_tofu_rows_map_to_the_benchmark():
    from tasks.unlearning.hub import rows_to_benchmark

    world = _tofu_rows(3, "world", k=5, paraphrase=False)
    b = rows_to_benchmark(_tofu_rows(4, "f"), _tofu_rows(6, "r"), world, holdout=[{"question": "q?", "answer": "a."}])
    assert (len(b.forget), len(b.retain), len(b.world), len(b.holdout)) == (4, 6, 3, 1)
    assert b.forget[1].paraphrase == "The birthplace of f author 1 is city 1."
    assert all(len(q.perturbed) == 3 for q in b.forget + b.retain + b.world + b.holdout)  # truncated to the minimum
    assert b.world[0].paraphrase == b.world[0].answer  # no paraphrase in world facts: the answer stands in
    with pytest.raises(DataUnavailable, match=r"forget: rows lack field\(s\) \['paraphrased_answer'\]"):
        rows_to_benchmark(_tofu_rows(2, "f", paraphrase=False), _tofu_rows(2, "r"), world)


def test_tofu_hub_source_runs_end_to_end_on_rows_in_the_real_schema(tmp_path, monkeypatch):
    from tasks.unlearning import hub

    data = {"forget10_perturbed": _tofu_rows(8, "f"), "retain_perturbed": _tofu_rows(12, "r"),
            "world_facts_perturbed": _tofu_rows(3, "w", paraphrase=False),
            "real_authors_perturbed": _tofu_rows(3, "a", paraphrase=False)}
    data["full"] = [{"question": x["question"], "answer": x["answer"]}
                    for x in data["forget10_perturbed"] + data["retain_perturbed"]]
    data["retain90"] = [{"question": x["question"], "answer": x["answer"]} for x in data["retain_perturbed"]]
    asked = []

    def fake_loader(revision):
        assert revision == "0123abc"

        def load(path, name, split):
            asked.append((path, name))
            if name not in data:
                raise DataUnavailable(f"{name} missing")
            return data[name]
        return load

    monkeypatch.setattr(hub, "_loader", fake_loader)
    over = {"source": "hub", "revision": "0123abc", "finetune_steps": 30}
    status, p = run_cell(Cell("unlearn-tofu-synth-forget10", "retain_model", 0, task_overrides=over), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert r.metrics["forget_quality"].value == pytest.approx(1.0)  # the retain reference against itself
    assert r.dataset.id == "locuslab/TOFU (forget10)" and r.dataset.revision == "0123abc"
    assert ("locuslab/TOFU", "retain90") in asked and ("locuslab/TOFU", "full") in asked
    monkeypatch.undo()  # the real loader: refuses an unpinned revision before touching the network
    status, p = run_cell(Cell("unlearn-tofu-synth-forget10", "retain_model", 0,
                              task_overrides={"source": "hub"}), tmp_path / "b")
    assert status == "failed" and "pin a dataset revision" in read_record(p).error


def _muse_rows():
    words = [f"w{i}" for i in range(400)]

    def text(k):
        return " ".join(words[k: k + 150])

    return {("knowmem", "forget_qa"): [{"question": f"Who is w{i}?", "answer": f"w{i} is a name."} for i in range(5)],
            ("knowmem", "retain_qa"): [{"question": f"What is w{i}?", "answer": f"w{i} is a word."} for i in range(5)],
            ("verbmem", "forget"): [{"prompt": text(i)[:60], "gt": text(i)[60:200]} for i in range(4)],
            ("privleak", "forget"): [{"text": text(i)} for i in range(4)],
            ("privleak", "holdout"): [{"text": text(200 + i)} for i in range(4)],
            ("raw", "forget"): [{"text": text(i)} for i in range(3)],
            ("raw", "retain1"): [{"text": text(100 + i)} for i in range(3)]}


def test_muse_rows_map_to_the_benchmark_and_corpus_chunks():
    from tasks.unlearning.hub import muse_rows_to_benchmark, text_chunks

    rows = _muse_rows()
    b = muse_rows_to_benchmark(rows["knowmem", "forget_qa"], rows["knowmem", "retain_qa"], rows["verbmem", "forget"],
                               rows["privleak", "forget"], rows["privleak", "holdout"])
    assert len(b.forget) == 5 and b.world == [] and len(b.verbmem) == 4 and b.verbmem[0][1] == rows["verbmem", "forget"][0]["gt"]
    assert len(b.members) == 4 * 3 and len(b.holdout) == 4 * 3  # 150 words -> 3 chunks of <= 64 words with a prefix
    ch = text_chunks([{"text": " ".join(map(str, range(300)))}], "x", prefix_words=32, words=128)
    assert [len((c.question + " " + c.answer).split()) for c in ch] == [128, 128, 44]
    assert ch[1].question.split()[0] == "128" and len(ch[0].question.split()) == 32
    with pytest.raises(DataUnavailable, match=r"verbmem: rows lack field\(s\) \['gt'\]"):
        muse_rows_to_benchmark(rows["knowmem", "forget_qa"], [], [{"prompt": "p"}], rows["privleak", "forget"],
                               rows["privleak", "holdout"])


def test_muse_hub_source_runs_end_to_end_with_released_models_faked(tmp_path, monkeypatch):
    from tasks.unlearning import hub

    rows = _muse_rows()
    monkeypatch.setattr(hub, "_loader", lambda revision: (lambda path, name, split: rows[name, split]))
    over = {"source": "hub", "revision": "feedbeef", "target_model": "tiny-gpt2", "retain_model": "tiny-gpt2",
            "max_chunks": 4, "max_length": 96}
    status, p = run_cell(Cell("unlearn-muse-synth-forget10", "grad_ascent", 0, task_overrides=over), tmp_path)
    r = read_record(p)
    assert status == "ok", r.error
    assert r.dataset.id == "muse-bench/MUSE-News" and r.dataset.revision == "feedbeef"
    assert 0 <= r.metrics["verbmem_forget"].value <= 1 and 0 <= r.metrics["knowmem_retain"].value <= 1
    monkeypatch.undo()
    status, p = run_cell(Cell("unlearn-muse-synth-forget10", "grad_ascent", 0, task_overrides={"source": "hub"}),
                         tmp_path / "b")
    assert status == "failed" and "pin a dataset revision" in read_record(p).error
