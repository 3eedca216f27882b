"""Judges of the preference tasks: who decides whether the trained policy's answer beats the SFT policy's.

`RewardJudge` (the sorting tasks): a pairwise judge built on the hidden true reward (never the training signal: the
annotator that labelled the pairs adds noise, the judge does not) with a *length bias*, like the LLM judges of
AlpacaEval, so that there is something for the length-controlled win rate to correct:

    P(model beats baseline on x) = sigmoid((r(x, y_m) - r(x, y_b)) / temperature + kappa * tanh((|y_m| - |y_b|) / scale))

with |y| the length in characters (alpaca_eval's length) and r the hidden reward. It returns a soft preference in
[0, 1] (as alpaca_eval's weighted, log-prob based annotators do); identical answers give exactly 0.5. The same judge
with kappa = 0 is the *length-unbiased* judge; its win rate (`unbiased_win_rate`) says what LC is trying to recover.

`LMJudge` (real data): an instruction-tuned causal LM prompted with alpaca_eval's own pairwise template
(`alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt`, read from the installed package) and scored as alpaca_eval's
`weighted_alpaca_eval_gpt4_turbo` does: the preference is the next-token probability of the identifier of the
first output ("m") over both identifiers ("m", "M"). alpaca_eval randomises which answer comes first; we judge both
orders and average (position bias cancels), so the preference is deterministic.
"""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class RewardJudge:
    temperature: float = 0.1
    length_bias: float = 1.0  # kappa
    length_scale: float = 10.0  # characters

    def preference(self, r_model, r_base, len_model, len_base, length_bias: float | None = None) -> np.ndarray:
        kappa = self.length_bias if length_bias is None else length_bias
        z = (np.asarray(r_model, float) - np.asarray(r_base, float)) / self.temperature
        z = z + kappa * np.tanh((np.asarray(len_model, float) - np.asarray(len_base, float)) / self.length_scale)
        return 1.0 / (1.0 + np.exp(-z))


# -- an LLM judge with alpaca_eval's prompt ----------------------------------------------------------------------
_TEMPLATE = "evaluators_configs/alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt"


def alpaca_eval_template() -> str:
    spec = importlib.util.find_spec("alpaca_eval")
    if spec is None or not spec.submodule_search_locations:
        from bench.errors import DataUnavailable

        raise DataUnavailable("the LM judge uses alpaca_eval's prompt template: pip install alpaca-eval")
    return (Path(spec.submodule_search_locations[0]) / _TEMPLATE).read_text()


def template_messages(template: str, instruction: str, output_1: str, output_2: str) -> list[dict]:
    """alpaca_eval's ChatML template filled in, as chat messages (so the judge's own chat template renders them)."""
    text = (template.replace("{instruction}", instruction).replace("{output_1}", output_1)
            .replace("{output_2}", output_2))
    msgs = []
    for role, content in re.findall(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>", text, flags=re.S):
        msgs.append({"role": role, "content": content.strip("\n")})
    if not msgs:
        raise ValueError("alpaca_eval template: no <|im_start|>role ... <|im_end|> turns found")
    return msgs


class LMJudge:
    """Pairwise judge `fn(instructions, outputs_model, outputs_baseline) -> P(model wins)` from a causal LM."""

    def __init__(self, model, tokenizer, batch_size: int = 4, max_length: int | None = None):
        self.model, self.tok, self.batch_size, self.max_length = model, tokenizer, batch_size, max_length
        self.template = alpaca_eval_template()
        self.ids = {}
        for t in ("m", "M"):
            ids = tokenizer(t, add_special_tokens=False)["input_ids"]
            if len(ids) != 1:
                raise ValueError(f"judge tokenizer: identifier {t!r} is not a single token ({ids})")
            self.ids[t] = ids[0]

    def _render(self, msgs: list[dict]) -> str:
        if getattr(self.tok, "chat_template", None):
            return self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs) + "<|im_start|>assistant\n"

    def first_wins(self, instructions: Sequence[str], out_1: Sequence[str], out_2: Sequence[str]) -> np.ndarray:
        """P(output_1 is better) = p(m) / (p(m) + p(M)) at the judge's first answer token."""
        import torch

        texts = [self._render(template_messages(self.template, i, a, b)) for i, a, b in zip(instructions, out_1, out_2)]
        res = []
        side = self.tok.padding_side
        self.tok.padding_side = "left"
        try:
            for s in range(0, len(texts), self.batch_size):
                enc = self.tok(texts[s: s + self.batch_size], return_tensors="pt", padding=True,
                               add_special_tokens=False)
                if self.max_length is not None and enc["input_ids"].shape[1] > self.max_length:
                    raise ValueError(f"judge prompt of {enc['input_ids'].shape[1]} tokens exceeds the judge's "
                                     f"sequence limit {self.max_length}")
                with torch.no_grad():
                    logits = self.model(**enc).logits[:, -1, :].float()
                lp = torch.log_softmax(logits, -1)
                a, b = lp[:, self.ids["m"]], lp[:, self.ids["M"]]
                res.append(torch.sigmoid(a - b).numpy())
        finally:
            self.tok.padding_side = side
        return np.concatenate(res) if res else np.zeros(0)

    def __call__(self, instructions, outputs_model, outputs_baseline) -> np.ndarray:
        """P(model's output wins), averaged over both presentation orders."""
        p1 = self.first_wins(instructions, outputs_model, outputs_baseline)
        p2 = 1.0 - self.first_wins(instructions, outputs_baseline, outputs_model)
        return (p1 + p2) / 2.0


JudgeFn = Callable[[Sequence[str], Sequence[str], Sequence[str]], np.ndarray]
