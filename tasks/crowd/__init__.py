"""Crowdsourcing track: detecting LLM-assisted cheating among workers without ground truth (Zhang et al., 2025)."""
from bench.api import register_family

register_family("crowd.cheating", "Score workers without ground truth; some copy an LLM part of the time, some answer "
                "at random; the requester holds its own LLM sample on part of the items",
                output="WorkerScores (float[n_workers] trust scores, higher = more trustworthy; a plain array is "
                       "accepted)")
