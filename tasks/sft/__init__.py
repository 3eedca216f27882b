"""SFT data-selection track: token cleaning (Pang et al., 2025), sample-level selection, and (planned) ENTP repair."""
from bench.api import register_family

register_family("sft.token_selection", "Choose which response tokens to train on (token masks/weights)",
                output="Selection(token_weights=list[float array per example])")
register_family("sft.sample_selection", "Choose which SFT samples to train on (sample weights, a budget)",
                output="Selection(sample_weights=float[n])")
