"""Small-loss detection (the memorisation effect, Arpit et al. 2017; used by co-teaching and DivideMix): examples
whose given label has a high out-of-fold cross-entropy are corrupted. Flags come from a 2-component Gaussian mixture
on the per-example losses (DivideMix, Li et al. 2020): flagged when the posterior of the high-loss component > 0.5."""
from __future__ import annotations

import numpy as np
from sklearn.mixture import GaussianMixture

from pydantic import Field

from bench.api import register_method
from bench.config import StrictConfig

from ._common import DetectionOutput, cross_val_probs, seed32


class Config(StrictConfig):
    folds: int = Field(5, ge=2, le=50, description="cross-validation folds of the out-of-fold losses")
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="posterior of the high-loss component that flags")


@register_method("small_loss", family="label_noise.detection", config=Config, paper="Li et al., ICLR 2020 (DivideMix)")
def small_loss(data, cfg: Config, ctx):
    """Out-of-fold loss + 2-component GMM split."""
    probs = cross_val_probs(data.X, data.y, data.n_classes, seed32(ctx), cfg.folds)
    loss = -np.log(np.clip(probs[np.arange(len(data.y)), data.y], 1e-12, 1.0))
    z = (loss - loss.min()) / max(loss.max() - loss.min(), 1e-12)
    gmm = GaussianMixture(2, max_iter=100, reg_covar=5e-4, random_state=seed32(ctx)).fit(z[:, None])
    high = int(np.argmax(gmm.means_.ravel()))
    post = gmm.predict_proba(z[:, None])[:, high]
    return DetectionOutput(scores=loss, flags=post > cfg.threshold)
