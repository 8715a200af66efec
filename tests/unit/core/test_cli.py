"""The command line: every benchmark suite named in `ghostline bench` can be run."""

from __future__ import annotations

import importlib

import pytest

from ghostline.cli import BENCH_SUITES, build_parser


@pytest.mark.parametrize("suite", sorted(BENCH_SUITES))
def test_every_bench_suite_has_a_main_and_help(suite: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(BENCH_SUITES[suite])
    assert callable(module.main)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_an_unknown_suite_is_refused() -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["bench", "speed"])
    assert done.value.code == 2
