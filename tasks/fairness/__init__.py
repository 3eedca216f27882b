"""Fairness track: influence-guided active sampling without harm (Pang, Wang, Zhu et al., 2024)."""
from bench.api import register_family

register_family("fairness.active_sampling",
                "Each round pick k pool examples to label (pool groups hidden); test accuracy and group disparity",
                output="a selector: fn(ActiveView, cfg, ctx) -> int[k] positions in view.X_pool")
