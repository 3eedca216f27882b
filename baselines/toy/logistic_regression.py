from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig


class Config(StrictConfig):
    C: float = Field(1.0, gt=0.0, description="inverse L2 regularisation strength")
    max_iter: int = Field(500, ge=1, description="maximum lbfgs iterations")


@register_method("logistic_regression", family="toy.classification", config=Config, kind="baseline")
def logistic_regression(data, cfg: Config, ctx):
    """Multinomial logistic regression (scikit-learn, lbfgs)."""
    clf = LogisticRegression(C=cfg.C, max_iter=cfg.max_iter, random_state=ctx.seed % (2**32))
    return clf.fit(data.X_train, data.y_train).predict(data.X_test)
