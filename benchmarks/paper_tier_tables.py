"""The pretrained tier's "paper vs here" comparisons, from the records: per task, every metric's mean per method and the
paired t-tests (shared seed indices; bench.stats.paired_test, unadjusted) of each claim's method against the baselines
that test the claim.

    python benchmarks/paper_tier_tables.py                      # records under results/
    python benchmarks/paper_tier_tables.py --results DIR
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (task, method of the claim, baselines it is compared with, metrics shown)
CLAIMS = [
    ("sft-token-gsm8k-smollm2", "token_cleaning", ["full_tokens", "random_token_drop", "rho1"],
     ["answer_loglik", "final_loglik", "final_answer_mc", "gsm8k_em"]),
    ("sft-token-gsm8k-smollm2", "token_cleaning_self_evolving", ["token_cleaning", "full_tokens"],
     ["answer_loglik", "final_loglik", "final_answer_mc", "gsm8k_em"]),
    ("sft-sample-gsm8k-smollm2", "entp_repair", ["full_tokens", "random_subset"],
     ["answer_loglik", "final_loglik", "final_answer_mc", "gsm8k_em"]),
    ("sft-sample-gsm8k-smollm2", "ds2", ["full_tokens", "random_subset", "rating_filter", "perplexity_filter", "ifd",
                                         "length_select", "diversity_knn"],
     ["answer_loglik", "final_loglik", "final_answer_mc", "gsm8k_em"]),
    ("pref-sort-smollm2", "mixdpo", ["dpo", "rpo", "routing_only", "sft_model", "curriculum", "sft_chosen", "ipo",
                                     "cdpo", "robust_dpo", "simpo", "margin_filter", "orpo", "kto"],
     ["lc_win_rate", "win_rate", "mean_true_reward"]),
    ("unlearn-tofu-smollm2", "flat", ["target_model", "retain_model", "npo", "grad_diff", "grad_ascent", "kl_min",
                                      "npo_rt", "simnpo", "idk_po"],
     ["forget_quality", "forget_truth_ratio", "model_utility", "forget_rouge", "forget_prob"]),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results")
    a = ap.parse_args()
    from bench.records import scan
    from bench.stats import mean, paired_test

    vals: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)
    for _, r in scan(Path(a.results))[0]:
        if r.status != "ok" or not r.task.endswith("-smollm2"):
            continue
        for k, m in r.metrics.items():
            if m.value is not None:
                vals[(r.task, r.method, k)][r.seed_index] = m.value
    for task, method, bases, metrics in CLAIMS:
        if not vals.get((task, method, metrics[0])):
            print(f"\n{task}: no records of {method}")
            continue
        print(f"\n{task}: {method}")
        for k in metrics:
            a_ = vals[(task, method, k)]
            parts = [f"{k}: {method} {mean(list(a_.values())):.4g} (n={len(a_)})"]
            for b in bases:
                b_ = vals.get((task, b, k))
                if not b_:
                    parts.append(f"{b}: no records")
                    continue
                pr = paired_test(a_, b_)
                p = f"p={pr.p:.3g}" if pr.p is not None else "p=n/a"
                parts.append(f"vs {b} {mean(list(b_.values())):.4g}: diff {pr.diff:+.4g} ({p}, n={pr.n})")
            print("  " + "; ".join(parts))


if __name__ == "__main__":
    main()
