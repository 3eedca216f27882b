"""Downstream evaluation through lm-evaluation-harness (`lm_eval`) on an in-memory model, fully offline.

`evaluate(model, tokenizer, tasks)` wraps the model in lm-eval's `HFLM` (no re-loading from disk or hub) and runs
- `LocalTask`s: documents held in memory, written to a temporary JSONL file plus a task YAML (`dataset_path: json`)
  so that lm-eval's own task machinery (prompting, target delimiter, scoring, aggregation) does the evaluation;
- named lm-eval tasks (e.g. "mmlu", "truthfulqa_mc1", "arc_easy", "gsm8k") through lm-eval's default task index, for
  users whose machine has the data (the hub or a populated HF cache).

LocalTask kinds and the document fields they read:
- "multiple_choice": {"question", "choices": [str, ...], "label": int} -> acc (argmax of summed log-likelihood of
  " " + choice after the question) and acc_norm (length-normalised);
- "generate_until": {"question", "answer"} -> exact_match of the greedy continuation, cut at `until` or EOS, against
  `answer`, leading/trailing whitespace ignored; or, with `answer_regex` (e.g. `GSM8K_EXACT_MATCH`, lm-eval's gsm8k
  recipe), exact match of the regex's first capture in the continuation against `answer` after lm-eval's
  `regexes_to_ignore` / `ignore_case` normalisation.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

KINDS = ("multiple_choice", "generate_until")

# lm-eval's gsm8k task (lm_eval/tasks/gsm8k/gsm8k.yaml, "strict-match"): the number after "#### " in the generation,
# compared with the gold answer after dropping commas, "$", everything up to "#### " and a trailing ".".
GSM8K_EXACT_MATCH = {"answer_regex": "#### (\\-?[0-9\\.\\,]+)",
                     "regexes_to_ignore": (",", "\\$", "(?s).*#### ", "\\.$"), "ignore_case": True}


@dataclass(frozen=True)
class LocalTask:
    name: str
    kind: Literal["multiple_choice", "generate_until"]
    docs: Sequence[dict] = field(repr=False)
    until: tuple[str, ...] = ("\n",)
    max_gen_toks: int = 32
    answer_regex: str | None = None  # generate_until: score the regex's first capture (lm-eval "regex" filter)
    regexes_to_ignore: tuple[str, ...] = ("^\\s+", "\\s+$")
    ignore_case: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"LocalTask {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"LocalTask name {self.name!r}: use letters, digits and underscores only")
        need = {"question", "choices", "label"} if self.kind == "multiple_choice" else {"question", "answer"}
        for i, d in enumerate(self.docs):
            missing = need - set(d)
            if missing:
                raise ValueError(f"LocalTask {self.name!r}: document {i} lacks field(s) {sorted(missing)}")
            if self.kind == "multiple_choice" and not 0 <= int(d["label"]) < len(d["choices"]):
                raise ValueError(f"LocalTask {self.name!r}: document {i} label {d['label']} out of range")
        if not self.docs:
            raise ValueError(f"LocalTask {self.name!r}: no documents")


def _yaml(task: LocalTask, data_file: Path, cache_dir: Path) -> str:
    head = (f"task: {task.name}\n"
            f"dataset_path: json\n"
            f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data_file))}\n"
            f"  cache_dir: {json.dumps(str(cache_dir))}\n"
            f"test_split: test\n"
            f"doc_to_text: \"{{{{question}}}}\"\n")
    if task.kind == "multiple_choice":
        return head + ("output_type: multiple_choice\n"
                       "doc_to_choice: \"{{choices}}\"\n"
                       "doc_to_target: \"{{label}}\"\n"
                       "metric_list:\n"
                       "  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
                       "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n")
    out = head + ("output_type: generate_until\n"
                  "doc_to_target: \"{{answer}}\"\n"
                  "generation_kwargs:\n"
                  f"  until: {json.dumps(list(task.until))}\n"
                  "  do_sample: false\n"
                  f"  max_gen_toks: {task.max_gen_toks}\n"
                  "metric_list:\n"
                  "  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n"
                  f"    ignore_case: {json.dumps(task.ignore_case)}\n"
                  f"    regexes_to_ignore: {json.dumps(list(task.regexes_to_ignore))}\n")
    if task.answer_regex:
        out += ("filter_list:\n  - name: \"extract\"\n    filter:\n"
                f"      - function: \"regex\"\n        regex_pattern: {json.dumps(task.answer_regex)}\n"
                "      - function: \"take_first\"\n")
    return out


@contextlib.contextmanager
def _lean():
    """Skip the per-call work of `simple_evaluate` whose result we never read, and compile each prompt template once.

    lm-eval renders every document's prompt and target through `utils.apply_template`, which compiles the jinja
    template again for each document (0.3 s a call on a 100-document task), and ends each call by collecting torch's
    environment report (`add_env_info`: 11 subprocesses, 0.12 s) and the git hash of the working directory into the
    results dict, of which `evaluate` reads only `results`. Within this context the template is compiled once per
    distinct string (the same `Template` renders every document: identical text) and the two reports are skipped;
    the module attributes are restored on exit."""
    import functools

    from lm_eval import evaluator, utils

    compile_once = functools.lru_cache(maxsize=64)(utils.env.from_string)

    def apply_template(template: str, doc: dict) -> str:
        return compile_once(template).render(**doc)

    patches = {(utils, "apply_template"): apply_template, (evaluator, "add_env_info"): lambda results: None,
               (evaluator, "get_git_commit_hash"): lambda: None}
    saved = [(m, name, getattr(m, name)) for m, name in patches if hasattr(m, name)]  # a newer lm-eval may lack one
    for m, name, _ in saved:
        setattr(m, name, patches[(m, name)])
    try:
        yield
    finally:
        for m, name, orig in saved:
            setattr(m, name, orig)


@contextlib.contextmanager
def _quiet(enabled: bool):
    """Silence lm-eval's and datasets' per-request progress bars (the harness shows its own progress over cells)."""
    if not enabled:
        yield
        return
    import sys

    import datasets
    from tqdm import tqdm

    patched = [(m, m.tqdm) for name, m in list(sys.modules.items())
               if name.startswith("lm_eval") and m is not None and getattr(m, "tqdm", None) is tqdm]
    was = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    def silent(*a, **k):
        return tqdm(*a, **{**k, "disable": True})

    for m, _ in patched:
        m.tqdm = silent
    log = logging.getLogger("lm_eval")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)
        for m, orig in patched:
            m.tqdm = orig
        if was:
            datasets.enable_progress_bars()


def evaluate(model: Any, tokenizer: Any, tasks: Sequence[LocalTask | str], batch_size: int = 32,
             log_samples: bool = False, max_length: int | None = None, quiet: bool = True) -> dict[str, dict[str, Any]]:
    """Run lm-eval on `model` (a transformers causal LM in memory). Returns {task: {metric: value}} with lm-eval's
    metric names without the filter suffix (`acc`, `acc_norm`, `exact_match`, ...), plus `samples` (per-document
    lm-eval records) when `log_samples`."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    local = [t for t in tasks if isinstance(t, LocalTask)]
    named = [t for t in tasks if isinstance(t, str)]
    if len({t.name for t in local}) != len(local):
        raise ValueError("LocalTask names must be unique")
    was_training = model.training
    side = tokenizer.padding_side
    with tempfile.TemporaryDirectory(prefix="dcai-lmeval-") as tmp:
        d = Path(tmp)
        for t in local:
            f = d / f"{t.name}.jsonl"
            f.write_text("".join(json.dumps(dict(doc), sort_keys=True) + "\n" for doc in t.docs))
            (d / f"{t.name}.yaml").write_text(_yaml(t, f, d / "hf-cache"))
        tm = TaskManager(include_path=str(d), include_defaults=bool(named), verbosity="ERROR")
        kw = {"max_length": max_length} if max_length else {}
        try:
            with _quiet(quiet), _lean():
                lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, device=str(model.device), **kw)
                res = simple_evaluate(model=lm, tasks=[t.name for t in local] + named, task_manager=tm,
                                      log_samples=log_samples, verbosity="ERROR", bootstrap_iters=0)
        finally:
            model.train(was_training)
            tokenizer.padding_side = side
    out: dict[str, dict[str, Any]] = {}
    for name, metrics in res["results"].items():
        out[name] = {k.split(",")[0]: v for k, v in metrics.items() if "," in k and not k.split(",")[0].endswith("_stderr")}
        if log_samples and name in res.get("samples", {}):
            out[name]["samples"] = res["samples"][name]
    return out
