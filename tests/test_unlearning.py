"""Unlearning tasks: the contract (view, privileges, output), the tuning protocol, the splits, the copyright task's
held-out text and its answer to an always-empty model, and the hub loaders on rows in the real schemas (hub faked).
Cells run in smoke sizes with tiny float64 models built once per session."""
import numpy as np
import pytest
import torch

from bench.api import register_method
from bench.errors import DataUnavailable
from bench.records import read_record
from bench.registry import METHODS
from bench.runner import Cell, run_cell
from tasks.unlearning.data import generate

BOOK_EPOCHS = 30.0  # smoke-size book models need 30 epochs to write book-style prose (shared by the two tests)
TOFU, MUSE, BOOK = "unlearn-tofu-synth-forget10", "unlearn-muse-synth-forget10", "unlearn-copyright-synthbook"


def _run(task, method, tmp_path, seed=0, **over):
    status, p = run_cell(Cell(task, method, seed, smoke=True, task_overrides=tuple(over.items())), tmp_path)
    r = read_record(p)
    assert status in ("smoke", "failed")
    return status, r


@pytest.fixture
def spy():
    """Register a throw-away unlearning method; yields a dict that the method fills."""
    seen: dict = {}
    names = []

    def make(name, fn, **kw):
        register_method(name, family="unlearning", **kw)(fn)
        names.append(name)

    yield seen, make
    for n in names:
        METHODS.remove(n)


def test_splits_are_disjoint_and_the_forget_set_is_large():
    b = generate(np.random.default_rng(0))
    q = lambda xs: {x.question for x in xs}  # noqa: E731
    sets = [q(b.forget), q(b.retain_train), q(b.retain_val), q(b.retain), q(b.holdout)]
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            assert not sets[i] & sets[j]
    assert len(b.forget) == 36 and len(b.forget_report) == 30 and len(b.forget_validation) == 6
    assert {b.forget[i].question.split("?")[0] for i in b.forget_val}  # one fact per author, different fact types
    assert len({b.forget[i].question.split()[0] for i in b.forget_val}) > 1


def test_method_view_grants_exactly_the_declared_privileges(tmp_path, spy):
    from bench.registry import TASKS
    from bench.seeding import data_seed
    from tasks.unlearning.tasks import WORLD_SEED_NAME

    seen, make = spy

    def plain(view, cfg, ctx):
        seen["plain"] = view
        return view.model

    def with_retain(view, cfg, ctx):
        seen["retain"] = view
        return view.model

    make("spy_plain", plain)
    make("spy_retain", with_retain, privileges={"retain_data"})
    assert _run(TOFU, "spy_plain", tmp_path)[0] == "smoke"
    assert _run(TOFU, "spy_retain", tmp_path)[0] == "smoke"
    v, w = seen["plain"], seen["retain"]
    assert v.retain_data is None and v.retain_model is None and v.forget and v.templates
    sp = TASKS.get(TOFU).smoke_params()
    b = generate(np.random.default_rng(data_seed(WORLD_SEED_NAME, 0)), sp["n_authors"], sp["n_forget_authors"],
                 sp["n_holdout"], sp["n_retain_train"], sp["n_retain_val"], sp["n_facts"], n_world=sp["n_world"])
    assert [q.question for q in w.retain_data] == [q.question for q in b.retain_train]
    assert [q.question for q in v.forget] == [q.question for q in b.forget]
    # the retain privilege never hands over the utility-evaluation or the validation questions
    assert not {q.question for q in w.retain_data} & {q.question for q in b.retain + b.retain_val}


def test_retain_model_privilege_is_unranked_and_the_reference_row_uses_it(tmp_path, spy):
    seen, make = spy
    with pytest.raises(Exception, match="kind='reference'"):
        make("cheater", lambda v, c, x: v.retain_model, privileges={"retain_model"})
        run_cell(Cell(TOFU, "cheater", 0, smoke=True), tmp_path)
    st, r = _run(TOFU, "retain_model", tmp_path)
    assert st == "smoke" and r.metrics["forget_quality"].value == pytest.approx(1.0)


def test_wrong_outputs_are_named_by_the_contract(tmp_path, spy):
    seen, make = spy
    make("returns_str", lambda v, c, x: "a model")
    make("returns_nan", lambda v, c, x: _nan(v.model))
    st, r = _run(TOFU, "returns_str", tmp_path, tune=False)
    assert st == "failed" and "ContractError" in r.error and "must return UnlearnedModel" in r.error
    st, r = _run(TOFU, "returns_nan", tmp_path, tune=False)
    assert st == "failed" and "non-finite weights" in r.error


def _nan(model):
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    return model


def test_tuning_protocol_runs_the_grid_selects_on_validation_and_records_it(tmp_path, spy):
    from baselines.unlearning._loop import UnlearnConfig, forget_batch, run
    from tasks.unlearning import lm

    seen, make = spy
    calls = []

    def ga(view, cfg, ctx):  # gradient ascent through the family loop (reports every step)
        calls.append((cfg.lr, cfg.steps))
        return run(view, cfg, ctx.rng, lambda m, rng: -lm.mean_nll(m, forget_batch(view, rng, 4)), ctx)

    def silent(view, cfg, ctx):  # trains without reporting steps: the protocol reruns it per step count
        calls.append(("silent", cfg.lr, cfg.steps))
        return view.model

    make("spy_ga", ga, config=UnlearnConfig)
    make("spy_silent", silent, config=UnlearnConfig)
    grid = {"tune_lrs": [1e-4, 1e-2], "tune_steps": [1, 3]}
    st, r = _run(TOFU, "spy_ga", tmp_path, **grid)
    assert st == "smoke", r.error
    assert calls == [(1e-4, 3), (1e-2, 3)]  # one run per learning rate, intermediate steps scored on the way
    rows = r.artifacts["tuning"]["grid"]
    assert [(x["lr"], x["steps"]) for x in rows] == [(1e-4, 1), (1e-4, 3), (1e-2, 1), (1e-2, 3)]
    feas = [x for x in rows if x["feasible"]]
    best = min(feas, key=lambda x: x["D"]) if feas else max(rows, key=lambda x: x["U"])
    assert (r.artifacts["selected_lr"], r.artifacts["selected_steps"]) == (best["lr"], best["steps"])
    calls.clear()
    st, r = _run(TOFU, "spy_silent", tmp_path, **grid)
    assert sorted(c[1:] for c in calls) == [(1e-4, 1), (1e-4, 3), (1e-2, 1), (1e-2, 3)]
    from bench.registry import TASKS

    assert {"selected_lr", "selected_steps"} <= set(TASKS.get(TOFU).table_artifacts)


def test_selection_rule_prefers_forgetting_within_the_utility_floor():
    from tasks.unlearning.tuning import Score, better

    keep = Score(1e-4, 10, D=0.8, U=0.95, feasible=True)
    forget = Score(1e-3, 10, D=0.1, U=0.92, feasible=True)
    broken = Score(1e-2, 20, D=0.0, U=0.10, feasible=False)
    best = None
    for s in (keep, forget, broken):
        best = s if better(s, best) else best
    assert best is forget
    assert better(Score(0, 0, 5.0, 0.5, False), Score(0, 0, 0.1, 0.2, False))  # none feasible: the most utility


def test_same_cell_twice_gives_identical_metrics(tmp_path):
    a = _run(TOFU, "npo", tmp_path / "a")[1]
    b = _run(TOFU, "npo", tmp_path / "b")[1]
    assert {k: v.value for k, v in a.metrics.items()} == {k: v.value for k, v in b.metrics.items()}


def test_copyright_heldout_text_never_occurs_in_training():
    from tasks.unlearning.copyright import general

    for seed in range(5):
        train, held, val = general(np.random.default_rng(seed), 60, 20, 10)
        seen = {s for q in train for s in (q.question, q.answer)}
        assert not {s for q in held + val for s in (q.question, q.answer)} & seen
        assert len(held) == 20 and len(val) == 10


def test_an_always_empty_model_loses_the_copyright_task(tmp_path, spy):
    seen, make = spy

    def silence(view, cfg, ctx):  # emits EOS at every position: every completion is empty
        m = view.model
        eos = view.tokenizer.eos_token_id
        head = torch.nn.Linear(m.config.hidden_size, m.config.vocab_size, bias=True).to(next(m.parameters()).dtype)
        with torch.no_grad():
            head.weight.zero_()
            head.bias.fill_(-30.0)
            head.bias[eos] = 30.0
        m.lm_head = head
        return m

    make("always_empty", silence)
    out = {}
    for m in ("always_empty", "retain_model", "target_model"):
        st, r = _run(BOOK, m, tmp_path, tune=False, finetune_epochs=BOOK_EPOCHS)
        assert st == "smoke", r.error
        out[m] = {k: v.value for k, v in r.metrics.items()} | {"a": r.artifacts["forget_scores"]}
    e, ret = out["always_empty"], out["retain_model"]
    assert e["empty_frac"] == 1.0 and e["a"]["bleu"] == 0.0 and e["a"]["rougeL"] == 0.0
    # silence costs the retained model's whole score: the retained model itself scores 0
    assert e["fq_gap"] == pytest.approx(e["a"]["retained_bleu"] / 100 + e["a"]["retained_rougeL"], abs=1e-3)  # 4-digit artifacts
    assert e["fq_gap"] > 0.1 and e["fq_gap"] > ret["fq_gap"]
    assert ret["fq_gap"] == 0.0 and e["mc_accuracy"] <= 0.5 and (e["ppl_heldout"] is None or e["ppl_heldout"] > 1e3)


def test_copyright_book_text_and_the_retained_model_write_the_same_style(tmp_path):
    st, r = _run(BOOK, "retain_model", tmp_path, tune=False, finetune_epochs=BOOK_EPOCHS)
    a = r.artifacts["forget_scores"]
    assert a["retained_rougeL"] > 0.1  # the never-saw model continues book prompts with book-style prose


# -- hub loaders on rows in the real schemas ----------------------------------------------------------------------
def _tofu_rows(n, tag, k=3, paraphrase=True):
    rows = []
    for i in range(n):
        r = {"question": f"Where was {tag} author {i} born?", "answer": f"{tag} author {i} was born in city {i}.",
             "perturbed_answer": [f"{tag} author {i} was born in city {i + j + 1}." for j in range(k)]}
        if paraphrase:
            r["paraphrased_answer"] = f"The birthplace of {tag} author {i} is city {i}."
        rows.append(r)
    return rows


def test_tofu_rows_map_to_the_benchmark_with_disjoint_retain_splits():
    from tasks.unlearning.hub import rows_to_benchmark

    world, authors = _tofu_rows(3, "world", k=5, paraphrase=False), _tofu_rows(2, "real", paraphrase=False)
    evaluated = _tofu_rows(6, "r")
    train = [{"question": x["question"], "answer": x["answer"]} for x in evaluated + _tofu_rows(20, "t")]
    b = rows_to_benchmark(_tofu_rows(10, "f"), evaluated, world, holdout=[{"question": "q?", "answer": "a."}],
                          real_authors=authors, retain_train=train, rng=np.random.default_rng(0), n_val=5)
    assert (len(b.forget), len(b.retain), len(b.world), len(b.real_authors), len(b.holdout)) == (10, 6, 3, 2, 1)
    assert len(b.retain_val) == 5 and len(b.retain_train) == 15 and b.forget_val == [4, 9]
    assert not {q.question for q in b.retain_train + b.retain_val} & {q.question for q in b.retain}
    assert b.forget[1].paraphrase == "The birthplace of f author 1 is city 1."
    assert all(len(q.perturbed) == 3 for q in b.forget + b.retain + b.world + b.real_authors)
    with pytest.raises(DataUnavailable, match=r"forget: rows lack field\(s\) \['paraphrased_answer'\]"):
        rows_to_benchmark(_tofu_rows(2, "f", paraphrase=False), _tofu_rows(2, "r"), world)


def test_tofu_hub_source_runs_end_to_end_on_rows_in_the_real_schema(tmp_path, monkeypatch):
    from tasks.unlearning import hub

    data = {"forget10_perturbed": _tofu_rows(10, "f"), "retain_perturbed": _tofu_rows(8, "r"),
            "world_facts_perturbed": _tofu_rows(3, "w", paraphrase=False),
            "real_authors_perturbed": _tofu_rows(3, "a", paraphrase=False)}
    retain90 = [{"question": x["question"], "answer": x["answer"]}
                for x in data["retain_perturbed"] + _tofu_rows(12, "t")]
    data["full"] = [{"question": x["question"], "answer": x["answer"]} for x in data["forget10_perturbed"]] + retain90
    data["retain90"] = retain90
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
    over = {"source": "hub", "revision": "0123abc", "finetune_epochs": 10.0, "n_retain_val": 1}
    for m in ("retain_model", "grad_diff"):
        status, p = run_cell(Cell(TOFU, m, 0, smoke=True, task_overrides=tuple(over.items())), tmp_path)
        r = read_record(p)
        assert status == "smoke", r.error
    assert r.dataset.id == "locuslab/TOFU (forget10)" and r.dataset.revision == "0123abc"
    assert ("locuslab/TOFU", "retain90") in asked and ("locuslab/TOFU", "real_authors_perturbed") in asked
    monkeypatch.undo()  # the real loader: refuses an unpinned revision before touching the network
    status, p = run_cell(Cell(TOFU, "retain_model", 0, task_overrides=(("source", "hub"),)), tmp_path / "b")
    assert status == "failed" and "pin a dataset revision" in read_record(p).error


def _muse_rows():
    words = [f"w{i}" for i in range(400)]

    def text(k):
        return " ".join(words[k: k + 150])

    return {("knowmem", "forget_qa"): [{"question": f"Who is w{i}?", "answer": f"w{i} is a name."} for i in range(5)],
            ("knowmem", "retain_qa"): [{"question": f"What is w{i}?", "answer": f"w{i} is a word."} for i in range(5)],
            ("knowmem", "forget_qa_icl"): [{"question": "Who is w9?", "answer": "w9 is a name."}],
            ("knowmem", "retain_qa_icl"): [{"question": "What is w8?", "answer": "w8 is a word."}],
            ("verbmem", "forget"): [{"prompt": text(i)[:60], "gt": text(i)[60:200]} for i in range(4)],
            ("privleak", "forget"): [{"text": text(i)} for i in range(4)],
            ("privleak", "holdout"): [{"text": text(200 + i)} for i in range(4)],
            ("raw", "forget"): [{"text": text(i)} for i in range(3)],
            ("raw", "retain1"): [{"text": text(100 + i)} for i in range(3)]}


def test_muse_rows_map_to_the_benchmark_and_corpus_chunks():
    from tasks.unlearning.hub import muse_rows_to_benchmark, text_chunks

    rows = _muse_rows()
    b = muse_rows_to_benchmark(rows["knowmem", "forget_qa"], rows["knowmem", "retain_qa"], rows["verbmem", "forget"],
                               rows["privleak", "forget"], rows["privleak", "holdout"], rows["knowmem", "forget_qa_icl"])
    assert len(b.forget) == 5 and b.world == [] and len(b.verbmem) == 4 and b.verbmem[0][1] == rows["verbmem", "forget"][0]["gt"]
    assert b.members == [r["text"] for r in rows["privleak", "forget"]] and len(b.nonmembers) == 4  # whole texts
    assert b.icl_forget == [("Who is w9?", "w9 is a name.")]
    ch = text_chunks([{"text": " ".join(map(str, range(300)))}], "x", prefix_words=32, words=128)
    assert [len((c.question + " " + c.answer).split()) for c in ch] == [128, 128, 44]
    with pytest.raises(DataUnavailable, match=r"verbmem: rows lack field\(s\) \['gt'\]"):
        muse_rows_to_benchmark(rows["knowmem", "forget_qa"], [], [{"prompt": "p"}], rows["privleak", "forget"],
                               rows["privleak", "holdout"])


def test_muse_hub_source_runs_end_to_end_with_released_models_faked(tmp_path, monkeypatch):
    from tasks.unlearning import hub

    rows = _muse_rows()
    monkeypatch.setattr(hub, "_loader", lambda revision: (lambda path, name, split: rows[name, split]))
    over = {"source": "hub", "revision": "feedbeef", "target_model": "tiny-gpt2", "retain_model": "tiny-gpt2",
            "max_chunks": 5, "max_length": 96, "tune_lrs": [1e-3], "tune_steps": [2]}
    status, p = run_cell(Cell(MUSE, "grad_ascent", 0, smoke=True, task_overrides=tuple(over.items())), tmp_path)
    r = read_record(p)
    assert status == "smoke", r.error
    assert r.dataset.id == "muse-bench/MUSE-News" and r.dataset.revision == "feedbeef"
    assert 0 <= r.metrics["verbmem_forget"].value <= 1 and 0 <= r.metrics["knowmem_retain"].value <= 1
    assert r.metrics["privleak_abs"].value == pytest.approx(abs(r.artifacts["privleak"]), abs=1e-3)
