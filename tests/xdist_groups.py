"""Work units of the test suite under pytest-xdist (`-n auto --dist loadgroup`, the README's test command).

Tests that share work stay in one worker process (one xdist work unit):
- conformance checks by family (the two SFT families together): a family's checks share their cells (the null
  method's runs, the easy worlds, the smoke cells) through the session's per-process cache, so splitting a family
  across workers computes them twice;
- the tests that start Ray (or look for leftover Ray processes) in one group: two local Ray clusters on a 2-core
  machine slow each other down, and a leftover-process check must not see another worker's cluster;
- the tests that load the pretrained SmolLM2 in one group (one load of the model per process);
- every other test by its file (module-scoped fixtures are built once).
The groups are computed from the node id by the scheduler below, not by `xdist_group` marks: pytest-xdist 3.8 applies
marks by rewriting `item._nodeid`, which pytest 9 no longer reads, so under pytest 9.2 no mark ever grouped anything
(every test was its own work unit: found 2026-11-29, the node ids carried no "@group" suffix).
"""
from __future__ import annotations

RAY_FILES = {"test_scaleout.py", "test_federated.py", "test_harness_files.py"}
SMOLLM2_FILES = {"test_sft_paper.py", "test_pretrained_bases.py"}
# the heaviest work units go first (longest-processing-time order), so that no large group starts last and runs
# alone at the end; the order only balances the two workers, it changes no result. Worker seconds measured on 2 idle
# cores with a cold model cache (benchmarks/suite_walltime.py, 2026-11-29): SFT 119 (sample 70 + token 49), unlearning
# 103, SmolLM2 77, Ray 64, preference 57, test_unlearning.py 30; the other work units take under 10 s each
HEAVY_FIRST = ("conformance-sft", "conformance-unlearning", "smollm2", "ray", "conformance-preference",
               "test_unlearning.py")


def xdist_group_of(nodeid: str) -> str:
    """The work unit of a test under pytest-xdist, from its node id."""
    path, _, rest = nodeid.partition("::")
    fname = path.rsplit("/", 1)[-1]
    if fname in RAY_FILES:
        return "ray"
    if fname in SMOLLM2_FILES:
        return "smollm2"
    if fname == "test_conformance.py" and rest.endswith("]") and "[" in rest:
        family = rest.rsplit("[", 1)[1].rstrip("]").split("@")[-1]
        # the two SFT families share their sorting world (tokenizer, tiny model init): one unit
        return "conformance-" + ("sft" if family.startswith("sft.") else family)
    return fname


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` with the groups of `xdist_group_of`, heaviest first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    rank = {g: i for i, g in enumerate(HEAVY_FIRST)}

    class GroupScheduling(LoadScopeScheduling):
        _ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self._ordered:  # the work queue is complete by the first assignment: heaviest units first
                units = sorted(self.workqueue.items(), key=lambda kv: rank.get(kv[0], len(rank)))  # stable
                self.workqueue.clear()
                self.workqueue.update(units)
                self._ordered = True
            super()._assign_work_unit(node)

    return GroupScheduling(config, log)
