"""Statistics of the leaderboard: pure functions, no I/O (see docs/statistics.md for the rules and their reasons).

* `t_interval`: mean and 95% t confidence interval of the mean over seeds.
* `paired_test`: two-sided paired t-test (`scipy.stats.ttest_rel`) over the seed indices two rows share, with the
  t confidence interval of the mean difference. Every method of a task sees the same data, splits and noise for a
  seed index, so per-seed differences remove the between-seed variance of the data (a paired design).
* `holm`: Holm's step-down adjustment of a family of p-values (FWER control, no independence assumption).
* `rank_rows`: ranks of a table: every pair of comparable rows is tested, Holm-corrected across all pairs of the
  table; rank = 1 + the number of rows better than this row by a chain of significant comparisons; rank 1 is the
  top group.
* `power_paired` / `detectable_difference` / `seeds_needed`: the power of the paired t-test from the noncentral t
  distribution, and the smallest difference (or the seed count) it detects at alpha 0.05 with power 0.8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Hashable, Mapping, Sequence

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95
MIN_SHARED = 3  # fewer shared seeds: the pair is not tested ("not comparable")
_REL_TOL = 1e-12  # differences below this (relative to the values' scale) are floating-point noise, i.e. zero


def _scipy_stats():
    import scipy.stats  # deferred: scipy.stats costs a second to import and most commands never need it

    return scipy.stats


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); 0.0 for fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float | None  # None when n < 2 (no interval)
    hi: float | None
    n: int


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE,
               bounds: tuple[float | None, float | None] = (None, None)) -> Interval:
    """Mean and the t confidence interval of the mean: mean ± t_{(1+c)/2, n-1} * sd / sqrt(n), clipped to the
    metric's declared range `bounds` (the mean of a bounded metric lies in its range, so clipping loses no
    coverage)."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("t_interval of no values")
    m, n = mean(vals), len(vals)
    if n < 2:
        return Interval(m, None, None, n)
    half = _t_ppf(0.5 + confidence / 2, n - 1) * sample_sd(vals) / math.sqrt(n)
    lo, hi = m - half, m + half
    if bounds[0] is not None:
        lo = max(lo, float(bounds[0]))
    if bounds[1] is not None:
        hi = min(hi, float(bounds[1]))
    return Interval(m, lo, hi, n)


@lru_cache(maxsize=256)
def _t_ppf(q: float, df: int) -> float:
    return float(_scipy_stats().t.ppf(q, df))


@dataclass(frozen=True)
class Paired:
    """Paired comparison of a against b over their shared seed indices (difference = a - b, raw orientation)."""

    n: int  # shared seed indices
    diff: float | None  # mean of the per-seed differences a - b
    lo: float | None  # t confidence interval of the mean difference
    hi: float | None
    sd: float | None  # sample sd of the per-seed differences
    p: float | None  # two-sided p-value; None when n < MIN_SHARED (not comparable)
    seeds: tuple[int, ...] = ()

    @property
    def comparable(self) -> bool:
        return self.p is not None


def paired_test(a: Mapping[int, float], b: Mapping[int, float], confidence: float = CONFIDENCE,
                min_shared: int = MIN_SHARED) -> Paired:
    """Two-sided paired t-test of a against b over the seed indices both have (scipy.stats.ttest_rel).

    Degenerate cases scipy leaves undefined are decided here: all differences zero (up to floating-point noise)
    -> p = 1; identical non-zero differences on every seed -> p = 0 (no variance: the sign is certain)."""
    return paired_tests([(a, b)], confidence, min_shared)[0]


def paired_tests(pairs: Sequence[tuple[Mapping[int, float], Mapping[int, float]]], confidence: float = CONFIDENCE,
                 min_shared: int = MIN_SHARED) -> list[Paired]:
    """`paired_test` for many pairs at once: one scipy.stats.ttest_rel call per shared-seed count (the call's
    overhead, not its arithmetic, dominates a leaderboard rebuild)."""
    out: list[Paired | None] = [None] * len(pairs)
    batch: dict[int, list[tuple[int, list[float], list[float], float, float, tuple[int, ...]]]] = {}
    for i, (a, b) in enumerate(pairs):
        seeds = tuple(sorted(set(a) & set(b)))
        n = len(seeds)
        if n == 0:
            out[i] = Paired(0, None, None, None, None, None, seeds)
            continue
        xa = [float(a[s]) for s in seeds]
        xb = [float(b[s]) for s in seeds]
        d = [x - y for x, y in zip(xa, xb)]
        md = mean(d)
        if n < 2:
            out[i] = Paired(n, md, None, None, None, None, seeds)
            continue
        sd = sample_sd(d)
        tol = _REL_TOL * max([1.0] + [abs(v) for v in xa + xb])
        if sd <= tol:  # no variance in the differences
            md = 0.0 if abs(md) <= tol else md
            p = (1.0 if md == 0.0 else 0.0) if n >= min_shared else None
            out[i] = Paired(n, md, md, md, 0.0, p, seeds)
            continue
        half = _t_ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        if n < min_shared:
            out[i] = Paired(n, md, md - half, md + half, sd, None, seeds)
            continue
        batch.setdefault(n, []).append((i, xa, xb, md, sd, seeds))
    if batch:
        import numpy as np

        st = _scipy_stats()
        for n, items in sorted(batch.items()):
            res = st.ttest_rel(np.array([x[1] for x in items]), np.array([x[2] for x in items]), axis=1)
            half = _t_ppf(0.5 + confidence / 2, n - 1) / math.sqrt(n)
            for (i, _, _, md, sd, seeds), p in zip(items, np.atleast_1d(res.pvalue)):
                out[i] = Paired(n, md, md - half * sd, md + half * sd, sd, float(p), seeds)
    return out  # type: ignore[return-value]


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, in the input order.

    Sorted ascending p_(1) <= ... <= p_(m): adj_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j)). Rejecting
    adj <= alpha is Holm's procedure: it controls the family-wise error rate at alpha under any dependence."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adj[i] = running
    return adj


@dataclass
class RankedRow:
    key: Hashable
    n: int
    mean: float | None
    rank: int | None = None  # None: not ranked (reference/oracle, no values, or not comparable)
    top: bool = False  # rank 1: no row is significantly better
    not_comparable: bool = False  # shares < MIN_SHARED seeds with the anchor (best row)
    vs_anchor: Paired | None = None  # the comparison with the anchor (self - anchor, raw orientation)
    p_vs_anchor: float | None = None  # Holm-adjusted
    better_than: list[Hashable] = field(default_factory=list)  # rows this row beats significantly (direct test)


@dataclass
class Ranking:
    rows: dict[Hashable, RankedRow]
    anchor: Hashable | None
    tests: int  # size of the Holm family
    pairs: dict[tuple[Hashable, Hashable], tuple[Paired, float | None]]  # (a, b) -> (a - b test, Holm-adjusted p)
    untested: list[tuple[Hashable, Hashable]]  # comparable rows sharing < MIN_SHARED seeds


def rank_rows(series: Mapping[Hashable, Mapping[int, float]], direction: str = "max", unranked: Sequence = (),
              alpha: float = ALPHA, min_shared: int = MIN_SHARED) -> Ranking:
    """Rank the rows of one table by paired tests.

    series: row key -> {seed index: value of the primary metric}; rows in `unranked` (reference/oracle) are
    summarised but never ranked or tested. Rule:
      1. anchor = the row with the best mean among rows with >= min_shared seeds;
      2. rows sharing fewer than min_shared seeds with the anchor are not comparable (no rank, never top);
      3. every pair of comparable rows sharing >= min_shared seeds is tested (paired t, two-sided), and the p-values
         are Holm-adjusted across all these pairs; a is significantly better than b when adj p <= alpha and the mean
         difference favours a;
      4. rank = 1 + the number of rows better than this row by a chain of significant comparisons (transitive
         closure of 3; a chain of true claims implies a true claim, so the FWER guarantee carries over), so a row
         that beats another always ranks strictly above it; rank 1 = the top group."""
    if direction not in ("max", "min"):
        raise ValueError(f"direction must be 'max' or 'min', got {direction!r}")
    sign = 1.0 if direction == "max" else -1.0
    skip = set(unranked)
    rows: dict[Hashable, RankedRow] = {}
    for k, vals in series.items():
        v = [float(x) for x in vals.values() if x is not None]
        rows[k] = RankedRow(k, len(v), mean(v) if v else None)
    clean = {k: {s: float(x) for s, x in series[k].items() if x is not None} for k in series}
    cand = [k for k in series if k not in skip and rows[k].mean is not None]
    # deterministic order: best mean first, ties by key repr
    cand.sort(key=lambda k: (-sign * rows[k].mean, repr(k)))  # type: ignore[operator]
    anchor = next((k for k in cand if rows[k].n >= min_shared), None)
    if anchor is None:
        for k in cand:
            rows[k].not_comparable = True
        return Ranking(rows, None, 0, {}, [])
    comp = [anchor]
    for k in cand:
        if k == anchor:
            continue
        if len(set(clean[k]) & set(clean[anchor])) < min_shared:
            rows[k].not_comparable = True
            rows[k].vs_anchor = paired_test(clean[k], clean[anchor], min_shared=min_shared)
            continue
        comp.append(k)
    comp.sort(key=cand.index)
    all_pairs = [(a, b) for i, a in enumerate(comp) for b in comp[i + 1:]]
    results = paired_tests([(clean[a], clean[b]) for a, b in all_pairs], min_shared=min_shared)
    tests: list[tuple[Hashable, Hashable, Paired]] = []
    untested = []
    for (a, b), pr in zip(all_pairs, results):
        if pr.comparable:
            tests.append((a, b, pr))
        else:
            untested.append((a, b))
    adj = holm([t[2].p for t in tests])  # type: ignore[misc]
    pairs: dict[tuple[Hashable, Hashable], tuple[Paired, float | None]] = {}
    better: dict[Hashable, set] = {k: set() for k in comp}  # k -> rows significantly better than k
    for (a, b, pr), q in zip(tests, adj):
        pairs[(a, b)] = (pr, q)
        pairs[(b, a)] = (_flip(pr), q)
        if q <= alpha and pr.diff is not None and pr.diff != 0.0:
            win, lose = (a, b) if sign * pr.diff > 0 else (b, a)
            better[lose].add(win)
            rows[win].better_than.append(lose)
    closure = _closure(better, comp)
    for k in comp:
        r = rows[k]
        r.rank = 1 + len(closure[k])
        r.top = r.rank == 1
        if k == anchor:
            continue
        pr, q = pairs.get((k, anchor), (None, None))
        r.vs_anchor, r.p_vs_anchor = pr, q
    for k in comp:
        rows[k].better_than.sort(key=lambda x: comp.index(x))
    return Ranking(rows, anchor, len(tests), pairs, untested)


def _flip(pr: Paired) -> Paired:
    neg = (lambda x: None if x is None else -x)
    return Paired(pr.n, neg(pr.diff), neg(pr.hi), neg(pr.lo), pr.sd, pr.p, pr.seeds)


def _closure(better: dict[Hashable, set], order: list[Hashable]) -> dict[Hashable, set]:
    """For each row, every row reachable through 'significantly better' edges (itself excluded)."""
    out: dict[Hashable, set] = {}
    for k in order:
        seen: set = set()
        stack = sorted(better[k], key=order.index)
        while stack:
            x = stack.pop()
            if x in seen or x == k:
                continue
            seen.add(x)
            stack.extend(sorted(better[x], key=order.index))
        out[k] = seen
    return out


# -- power of the paired t-test ------------------------------------------------------------------------------------

def power_paired(effect: float, sd_diff: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t-test with n pairs to detect a true mean difference `effect` when the per-seed
    differences have standard deviation sd_diff: P(|T| > t_{1-alpha/2, n-1}) with T ~ noncentral t(n-1, delta)
    and delta = effect * sqrt(n) / sd_diff."""
    if n < 2:
        return float("nan")
    st = _scipy_stats()
    df = n - 1
    crit = st.t.ppf(1 - alpha / 2, df)
    if sd_diff == 0:
        return 1.0 if effect != 0 else alpha
    nc = abs(effect) * math.sqrt(n) / sd_diff
    p = float(st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc))
    if not math.isfinite(p):  # scipy's noncentral t gives nan far in the tail at large df: normal limit there
        p = float(st.norm.sf(crit - nc) + st.norm.cdf(-crit - nc))
    return p


def detectable_difference(sd_diff: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean difference the two-sided paired t-test with n pairs detects with the given power: the root
    in effect of power_paired(effect, sd_diff, n) = power (solved with brentq on the noncentral t)."""
    if n < 2:
        return float("inf")
    if sd_diff == 0:
        return 0.0
    from scipy.optimize import brentq

    f = lambda e: power_paired(e, 1.0, n, alpha) - power  # noqa: E731  (effect in units of sd_diff)
    hi = 1.0
    while f(hi) < 0:
        hi *= 2.0
        if hi > 1e6:
            return float("inf")
    return brentq(f, 0.0, hi, xtol=1e-10) * sd_diff


def detectable_difference_approx(sd_diff: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The textbook approximation (t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n); slightly below the exact
    noncentral-t value for small n (see docs/statistics.md)."""
    st = _scipy_stats()
    return (st.t.ppf(1 - alpha / 2, n - 1) + st.t.ppf(power, n - 1)) * sd_diff / math.sqrt(n)


def seeds_needed(effect: float, sd_diff: float, alpha: float = ALPHA, power: float = POWER,
                 n_min: int = MIN_SHARED, n_max: int = 10_000) -> int | None:
    """Smallest n (>= n_min, the fewest seeds the tables test) at which the paired t-test detects `effect` with the
    given power (a single comparison, before any multiplicity correction); None beyond n_max."""
    if effect == 0:
        return None
    if sd_diff == 0:
        return n_min
    def ok(n: int) -> bool:
        return power_paired(effect, sd_diff, n, alpha) >= power

    if ok(n_min):
        return n_min
    lo, hi = n_min, 2 * n_min  # power is increasing in n: ok(hi) is searched by doubling, then bisected
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > n_max:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
