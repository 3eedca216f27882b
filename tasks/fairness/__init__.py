"""Fairness track: influence-guided active sampling without harm (Pang, Wang, Zhu et al., NeurIPS 2024)."""
from bench.api import register_family

register_family("fairness.active_sampling",
                "Each round pick at most k pool examples to label (pool groups hidden); test fairness, accuracy, and "
                "both paired against random sampling on the same seed",
                output="Selection (int positions into view.X_pool, at most view.k; a plain int array is accepted)")
