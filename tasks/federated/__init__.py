"""Federated-learning track: convergence and incentives with heterogeneous / low-quality clients (Pang et al., 2025),
run on Flower's simulation engine."""
from bench.api import register_family

register_family("federated.incentives",
                "A server mechanism scores and weights clients each FedAvg round (Flower simulation); some clients "
                "are low-effort (noisy labels, tiny data, free-riding)",
                output="a Mechanism: weights(round_info) -> aggregation weights and client scores")
