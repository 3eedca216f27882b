"""A test-only toy method for the kill -9 / resume test: k-nearest-neighbours (the same numbers as `knn`), except that
the cell whose seed index is $DCAI_TEST_BLOCK_AT writes the file $DCAI_TEST_MARKER and then blocks until the process is
killed. Imported by that test (and by the process it kills); never discovered (tests/ is not a discovery package)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from sklearn.neighbors import KNeighborsClassifier

from bench.api import register_method
from bench.registry import METHODS

NAME = "blocking_knn"


def blocking_knn(data, cfg, ctx):
    if os.environ.get("DCAI_TEST_BLOCK_AT") == str(ctx.seed_index):
        Path(os.environ["DCAI_TEST_MARKER"]).write_text(str(os.getpid()))
        while True:  # killed here, in the middle of the sweep and of this cell
            time.sleep(0.05)
    return KNeighborsClassifier(n_neighbors=5).fit(data.X_train, data.y_train).predict(data.X_test)


if NAME not in METHODS:
    register_method(NAME, "toy.classification", kind="baseline")(blocking_knn)
