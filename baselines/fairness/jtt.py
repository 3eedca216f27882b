"""JTT, just train twice (Liu et al., ICML 2021), adapted to active sampling.

JTT trains an identification model, takes its error set (misclassified training examples) and upweights it when
training the final model. The FIS authors' baseline (strategy 7 of UCSC-REAL/FairnessWithoutHarm) draws the error set
from the labelled data, balanced over the two labels, and trains on it again. In this protocol a method can only
choose *pool* examples to label, so the error set is turned into a selection: the identification model is the current
logistic regression, the error set its misclassified labelled examples (at most k/2 per label, in random order), and
the round labels, for each error example in turn, its nearest unlabelled pool neighbour (Euclidean, features as the
model sees them), cycling until k examples are chosen. More data like the errors plays the role of upweighting them.
An empty error set selects nothing. Never uses group labels."""
from __future__ import annotations

import numpy as np

from bench.api import register_method
from tasks.fairness import model as lr


def error_set(view, rng: np.random.Generator) -> np.ndarray:
    pred = (lr.predict_proba(view.w, view.X_lab) > 0.5).astype(int)
    wrong = np.flatnonzero(pred != view.y_lab)
    per_label = max(1, view.k // 2)
    parts = [rng.permutation(wrong[view.y_lab[wrong] == c])[:per_label] for c in (0, 1)]
    out = np.concatenate(parts)
    return out[rng.permutation(len(out))]


def nearest_pool(view, errors: np.ndarray) -> np.ndarray:
    A, P = view.X_lab[errors], view.X_pool
    d2 = (A ** 2).sum(1)[:, None] + (P ** 2).sum(1)[None, :] - 2.0 * A @ P.T
    order = np.argsort(d2, axis=1, kind="stable")  # each error example's pool neighbours, nearest first
    chosen: list[int] = []
    taken = np.zeros(len(P), dtype=bool)
    ptr = np.zeros(len(errors), dtype=int)
    while len(chosen) < min(view.k, len(P)):
        for e in range(len(errors)):
            while ptr[e] < len(P) and taken[order[e, ptr[e]]]:
                ptr[e] += 1
            if ptr[e] < len(P):
                j = order[e, ptr[e]]
                taken[j] = True
                chosen.append(int(j))
                if len(chosen) == view.k:
                    break
    return np.array(chosen, dtype=int)


@register_method("jtt", family="fairness.active_sampling", kind="baseline",
                 paper="Liu et al., ICML 2021 (JTT), adapted to active sampling")
def jtt(view, cfg, ctx):
    """Label the pool neighbours of the current model's misclassified labelled examples (balanced over labels)."""
    errors = error_set(view, np.random.default_rng([ctx.seed, view.round]))
    ctx.add_artifact(f"error_set_round{view.round}", int(len(errors)))
    if len(errors) == 0:
        return np.zeros(0, dtype=int)
    return nearest_pool(view, errors)
