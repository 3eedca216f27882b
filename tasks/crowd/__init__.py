"""Crowdsourcing track: detecting LLM-assisted cheating among workers without ground truth (Zhang et al., 2025)."""
from bench.api import register_family

register_family("crowd.cheating", "Score workers without ground truth; cheaters copy an LLM labeller",
                output="float[n_workers] trust scores (higher = more trustworthy)")
