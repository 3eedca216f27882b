"""bench/stats.py: intervals, the paired test, Holm, ranks and power, each against a hand-computed or known value."""
import math

import numpy as np
import pytest

from bench import stats


def _t4_two_sided_p(t: float) -> float:
    """Two-sided p of Student's t with 4 degrees of freedom from its closed-form CDF (no scipy)."""
    u = t * t / 4
    cdf = 0.5 + (3 / 8) * (t / math.sqrt(1 + u)) * (1 - t * t / (12 * (1 + u)))
    return 2 * (1 - cdf)


def test_t_interval_hand_computed_and_clipped():
    # values 1,2,3,4,5: mean 3, sd sqrt(2.5); t_{0.975,4} = 2.7764451051977987 (tables: 2.776)
    iv = stats.t_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    assert iv.n == 5 and iv.mean == 3.0
    assert iv.lo == pytest.approx(3 - half, abs=1e-12) and iv.hi == pytest.approx(3 + half, abs=1e-12)
    one = stats.t_interval([0.7])
    assert (one.mean, one.lo, one.hi, one.n) == (0.7, None, None, 1)
    # a proportion near 1: the interval is clipped to the metric's declared range
    c = stats.t_interval([0.99, 1.0, 0.97], bounds=(0.0, 1.0))
    assert c.hi == 1.0 and c.lo < c.mean < 1.0


def test_paired_test_hand_computed():
    a = {0: 0.50, 1: 0.70, 2: 0.90, 3: 0.60, 4: 0.80, 9: 0.1}  # seed 9 is not shared: ignored
    b = {0: 0.48, 1: 0.67, 2: 0.89, 3: 0.58, 4: 0.78, 7: 0.9}
    pr = stats.paired_test(a, b)
    # differences 0.02, 0.03, 0.01, 0.02, 0.02: mean 0.02, sd sqrt(0.0002/4); t = 0.02 / (sd / sqrt(5)) = 6.3246
    sd = math.sqrt(0.0002 / 4)
    t = 0.02 / (sd / math.sqrt(5))
    assert pr.n == 5 and pr.seeds == (0, 1, 2, 3, 4)
    assert pr.diff == pytest.approx(0.02, abs=1e-12) and pr.sd == pytest.approx(sd, rel=1e-9)
    assert pr.p == pytest.approx(_t4_two_sided_p(t), rel=1e-9)  # 0.0032
    half = 2.7764451051977987 * sd / math.sqrt(5)
    assert (pr.lo, pr.hi) == (pytest.approx(0.02 - half, abs=1e-12), pytest.approx(0.02 + half, abs=1e-12))


def test_paired_test_degenerate_cases():
    same = {i: 0.3 + 0.1 * i for i in range(5)}
    # identical rows up to floating-point noise: no difference (scipy alone would return nan or a random p)
    noisy = {i: v + (1e-17 if i % 2 else -1e-17) for i, v in same.items()}
    assert stats.paired_test(same, noisy).p == 1.0
    # a constant non-zero difference on every seed: certain, p = 0
    shifted = {i: v - 0.01 for i, v in same.items()}
    pr = stats.paired_test(same, shifted)
    assert pr.p == 0.0 and pr.diff == pytest.approx(0.01)
    # fewer than 3 shared seeds: not comparable
    assert not stats.paired_test({0: 1.0, 1: 2.0}, {0: 0.0, 1: 0.5, 2: 0.1}).comparable
    assert stats.paired_test({0: 1.0}, {5: 1.0}).n == 0


def test_holm_on_a_constructed_p_value_set():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4 = 0.02; 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> max(0.06, 0.04) = 0.06
    assert stats.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # at alpha 0.05 Holm rejects exactly the two smallest; Bonferroni (p*4) would reject only 0.005
    assert [q <= 0.05 for q in stats.holm(p)] == [True, False, False, True]
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert stats.holm([]) == []
    rng = np.random.default_rng(0)
    for _ in range(50):  # adjusted >= raw, and order-preserving
        q = list(rng.uniform(0, 0.2, size=7))
        adj = stats.holm(q)
        assert all(x >= y for x, y in zip(adj, q))
        order = np.argsort(q, kind="stable")
        assert all(adj[order[i]] <= adj[order[i + 1]] for i in range(6))


def test_ranks_follow_paired_tests_and_chains():
    base = [0.5, 0.7, 0.9, 0.6, 0.8]  # large between-seed (data) variation shared by every row
    series = {
        "A": {i: v + 0.04 for i, v in enumerate(base)},
        "B": {i: v + 0.02 + (0.001 if i % 2 else -0.001) for i, v in enumerate(base)},
        "C": {i: v for i, v in enumerate(base)},
        "R": {i: 1.0 for i in range(5)},  # reference: never ranked
    }
    rk = stats.rank_rows(series, "max", unranked=["R"])
    assert rk.anchor == "A" and rk.tests == 3
    assert {k: r.rank for k, r in rk.rows.items()} == {"A": 1, "B": 2, "C": 3, "R": None}
    assert rk.rows["A"].top and not rk.rows["B"].top
    # direction min reverses the order
    rk = stats.rank_rows(series, "min", unranked=["R"])
    assert {k: r.rank for k, r in rk.rows.items() if k != "R"} == {"C": 1, "B": 2, "A": 3}


def test_rows_sharing_too_few_seeds_are_not_comparable():
    series = {"A": {i: 0.9 + 0.001 * i for i in range(5)}, "B": {i: 0.5 + 0.002 * i for i in range(5)},
              "late": {7: 0.99, 8: 0.98, 9: 0.97}, "one": {0: 0.2}}
    rk = stats.rank_rows(series, "max")
    # 'late' has the best mean (the anchor) but shares no seed with A/B: they are not comparable, never top
    assert rk.anchor == "late"
    assert rk.rows["A"].not_comparable and rk.rows["A"].rank is None and not rk.rows["A"].top
    assert rk.rows["one"].not_comparable
    assert rk.rows["late"].rank == 1


def test_a_method_beating_the_null_on_every_seed_is_never_grouped_with_it():
    """10 seeds, 8 rows; the method beats the null on every seed by gaps of varying size, the seeds' shared data
    effect is large (an interval rule would tie everything). Over 200 random tables the method always ranks
    strictly above the null and the null is never in the top group with it."""
    rng = np.random.default_rng(17)
    for trial in range(200):
        data = rng.normal(0, 0.05, size=10)  # per-seed difficulty, shared by every row (paired design)
        null = 0.10 + data
        delta = rng.uniform(0.005, 0.05)
        gaps = delta * rng.uniform(0.3, 1.7, size=10)
        series = {"null": dict(enumerate(null)), "method": dict(enumerate(null + gaps))}
        for j in range(6):  # other rows anywhere between and around
            series[f"o{j}"] = dict(enumerate(0.10 + data + rng.uniform(-0.02, 0.08) + rng.normal(0, 0.01, 10)))
        rk = stats.rank_rows(series, "max")
        m, n = rk.rows["method"], rk.rows["null"]
        assert m.rank < n.rank, (trial, m.rank, n.rank)
        assert not (m.top and n.top)


def test_power_against_known_values():
    # one-sample / paired t, alpha 0.05 two-sided (G*Power 3.1 and R pwr::pwr.t.test give the same):
    # d = 1.0, n = 10 -> 0.8030969; d = 0.5, n = 34 -> 0.8077775; d = 0.8, n = 15 -> 0.8213105
    assert stats.power_paired(1.0, 1.0, 10) == pytest.approx(0.8030969, abs=1e-6)
    assert stats.power_paired(0.5, 1.0, 34) == pytest.approx(0.8077775, abs=1e-6)
    assert stats.power_paired(0.8, 2.0, 15) == pytest.approx(stats.power_paired(0.4, 1.0, 15))
    assert stats.power_paired(1.6, 2.0, 15) == pytest.approx(0.8213105, abs=1e-6)
    # the detectable difference is the effect at which power is exactly 0.8, in units of sd_diff
    d10 = stats.detectable_difference(1.0, 10)
    assert stats.power_paired(d10, 1.0, 10) == pytest.approx(0.8, abs=1e-8)
    assert 0.99 < d10 < 1.0  # just below d = 1, whose power is 0.803
    assert stats.detectable_difference(0.02, 10) == pytest.approx(0.02 * d10)
    # the textbook approximation (t_.975 + t_.8) sd / sqrt(n) is close but slightly low at small n
    assert stats.detectable_difference_approx(1.0, 10) < d10 < 1.01 * stats.detectable_difference_approx(1.0, 10)
    # large n: the normal approximation (z_.975 + z_.8) / sqrt(n) = 2.8016 / sqrt(n)
    assert stats.detectable_difference(1.0, 2000) == pytest.approx(2.8016 / math.sqrt(2000), rel=2e-3)
    assert stats.seeds_needed(0.5, 1.0) == 34 and stats.seeds_needed(1.0, 1.0) == 10


def test_detectable_difference_by_simulation():
    """Monte Carlo: paired samples with the solved difference are detected ~80% of the time (n = 5 and 10)."""
    from scipy.stats import t as tdist

    rng = np.random.default_rng(3)
    for n in (5, 10):
        delta = stats.detectable_difference(0.03, n)
        d = rng.normal(delta, 0.03, size=(20000, n))
        tstat = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
        power = np.mean(np.abs(tstat) > tdist.ppf(0.975, n - 1))
        assert abs(power - 0.8) < 0.015, (n, power)


def test_batched_tests_equal_scipy_ttest_rel_pair_by_pair():
    from scipy.stats import ttest_rel

    rng = np.random.default_rng(5)
    pairs = []
    for k in range(30):
        n = 3 + k % 8
        a = rng.normal(0.5, 0.1, n)
        b = a + rng.normal(0.01 * (k % 3), 0.02, n)
        pairs.append((dict(enumerate(a)), dict(enumerate(b))))
    got = stats.paired_tests(pairs)
    for (a, b), pr in zip(pairs, got):
        ref = ttest_rel(list(a.values()), list(b.values()))
        assert pr.p == pytest.approx(float(ref.pvalue), rel=1e-10, abs=1e-15)
        ci = ref.confidence_interval(0.95)
        assert (pr.lo, pr.hi) == (pytest.approx(float(ci.low), abs=1e-12), pytest.approx(float(ci.high), abs=1e-12))
