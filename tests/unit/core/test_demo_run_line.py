"""What the demo prints about the server's own run of the generated tests."""

from __future__ import annotations

from ghostline.demo_tests import _run_line


def test_the_run_line_names_runs_coverage_and_mutants() -> None:
    line = _run_line({"ran": True, "passed": ["test_a", "test_b"], "failed": {"test_c": "x"},
                      "runs": 3, "seconds": 4.2,
                      "coverage": {"lines": 5, "linesTotal": 6, "branches": 1,
                                   "branchesTotal": 2},
                      "mutants": {"caught": 3, "total": 4, "items": []}})
    assert line == ("run before applying: 2 passed 3 runs in a row, 1 failed and left out "
                    "(test_c); covers 5 of 6 lines and 1 of 2 branches; caught 3 of 4 "
                    "mutants (4.2 s running tests)")


def test_the_run_line_says_why_nothing_was_measured() -> None:
    assert _run_line(None) == "not run before applying"
    assert _run_line({"ran": False, "reason": "pytest is not installed"}) == \
        "not run: pytest is not installed"
    line = _run_line({"ran": True, "passed": ["t"], "runs": 3, "coverage": None,
                      "coverageNote": "coverage not measured: no coverage.py", "seconds": 1})
    assert "coverage not measured: no coverage.py" in line
