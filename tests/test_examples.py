"""The acceptance examples, run through the CLI the way users run them, on every runnable target.

Each example's sinks must equal its expected/ outputs (see tests/support.py for the comparison).
Examples whose features arrive with later issues are marked xfail(strict=True): when a target starts
supporting one, the marker must go.
"""

import pytest
from support import EXAMPLES, compare_outputs, copy_example, run_flowc

LATER = {
}
CASES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "program.flow").exists())


def _params(targets_and_sizes):
    out = []
    for name in CASES:
        for target, size in targets_and_sizes:
            gap = LATER.get((name, target))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            out.append(pytest.param(name, target, size, marks=marks, id=f"{name}-{target}-{size}"))
    return out


@pytest.mark.parametrize("name,target,batch_size", _params(
    [("local", 1), ("local", 7), ("local", 10000), ("datafusion", 10000)]))
def test_example_gives_expected_output(name, target, batch_size, tmp_path):
    work = copy_example(name, tmp_path)
    proc = run_flowc("run", str(work / "program.flow"), "--target", target, "--batch-size", str(batch_size),
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    problems = compare_outputs(EXAMPLES / name / "expected", work / "out")
    assert not problems, "\n".join(problems)
    assert "rows in" in proc.stderr  # the run summary


@pytest.mark.parametrize("name", CASES)
def test_example_checks(name):
    proc = run_flowc("check", str(EXAMPLES / name / "program.flow"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
