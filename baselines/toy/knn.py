from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig


class Config(StrictConfig):
    k: int = Field(5, ge=1, description="number of neighbours in the vote")


@register_method("knn", family="toy.classification", config=Config, kind="baseline")
def knn(data, cfg: Config, ctx):
    """k-nearest-neighbour vote (Euclidean)."""
    return KNeighborsClassifier(n_neighbors=cfg.k).fit(data.X_train, data.y_train).predict(data.X_test)
