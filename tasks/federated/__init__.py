"""Federated-learning track: incentives for high-quality participation (Pang, Wei, Hua et al., 2025) as a Stackelberg
game between the server's mechanism and effort-choosing clients, trained with FedAvg on Flower."""
from bench.api import register_family

from . import contract  # noqa: F401  (registers the family contract)

register_family("federated.incentives",
                "The server (leader) announces a mechanism and a reward level; clients (followers) choose effort "
                "(data amount, label cleaning) at a convex cost; FedAvg on Flower with the chosen effort",
                output="a Mechanism (tasks/federated/contract.py): score and weight the participants each round")
