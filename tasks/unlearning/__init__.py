"""Unlearning track: TOFU- and MUSE-style benchmarks with the FLAT paper's methods (Wang, Wei, Liu et al., 2024)."""
from bench.api import register_family

register_family("unlearning", "Remove forget-set knowledge from a fine-tuned model while keeping utility",
                output="the unlearned model (a causal LM)")
