"""Preference-alignment track: DPO family, margin curriculum and routing (MixDPO), length-controlled win rate."""
from bench.api import register_family

register_family("preference", "Align a policy on preference pairs; judged by (length-controlled) win rate vs the SFT model",
                output="the trained policy (a causal LM)")
