"""The static leaderboard site: deterministic, and it renders in headless Chromium with its tables and plots."""
import shutil
import subprocess

import pytest

from bench.runner import plan, run_sweep
from bench.site import build_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    run_sweep(plan(tasks=["toy-digits"], seeds=3), tmp / "results", progress=False)
    run_sweep(plan(tasks=["adc-detect-digits-sym40"], methods=["confident_learning", "random_detector"], seeds=2,
                   smoke=True), tmp / "results", progress=False)
    build_site(tmp / "results", tmp / "a")
    build_site(tmp / "results", tmp / "b")
    return tmp


def test_site_is_byte_identical_on_rebuild(site):
    a = sorted(p.relative_to(site / "a").as_posix() for p in (site / "a").rglob("*") if p.is_file())
    b = sorted(p.relative_to(site / "b").as_posix() for p in (site / "b").rglob("*") if p.is_file())
    assert a == b
    assert "index.html" in a and "toy-digits-v1.html" in a and "toy-digits-v1.png" in a
    assert "docs/label_noise.html" in a and "docs/statistics.html" in a  # family docs rendered into the site
    for name in a:
        assert (site / "a" / name).read_bytes() == (site / "b" / name).read_bytes(), name


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs the Debian package)")
def test_site_renders_in_headless_chromium(site):
    def dom(page):
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                            (site / "a" / page).as_uri()], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        return p.stdout

    index = dom("index.html")
    assert "<table class=\"tasks\">" in index and 'href="toy-digits-v1.html"' in index
    page = dom("toy-digits-v1.html")
    assert "<table class=\"leaderboard\">" in page
    assert page.count("<tr") >= 4 and "knn" in page and "majority" in page  # the top group is <tr class="top">
    assert '<img src="toy-digits-v1.png"' in page
    png = (site / "a" / "toy-digits-v1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    shot = site / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1000,800", (site / "a" / "toy-digits-v1.html").as_uri()], capture_output=True,
                   timeout=120)
    assert shot.exists() and shot.stat().st_size > 10000
