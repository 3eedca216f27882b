"""Label-noise track (Automatic Dataset Construction benchmark, Liu et al. 2024): noise detection, noise-robust
learning and class-imbalanced learning."""
from bench.api import register_family

register_family("label_noise.detection", "Flag corrupted labels (ADC label-noise detection)",
                output="DetectionOutput(scores: float[n], flags: bool[n]); higher score = more likely corrupted")
register_family("label_noise.robust", "Learn from noisy labels; judged on clean test labels (ADC noisy learning)",
                output="int[n_test] predicted labels for X_test")
register_family("label_noise.imbalance", "Learn from long-tailed labels; judged on a balanced test set (ADC imbalance)",
                output="int[n_test] predicted labels for X_test")
