"""Fuzzing (issue 12, flowc/testing/fuzz.py): mutated programs through parse, check and every
target's compile, damaged files through every reader and policy; a diagnostic or success, never an
internal error, and every record accounted for. docs/TESTING.md records the long run."""

from __future__ import annotations

import random
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.testing import fuzz

SEEDS = fuzz.seeds()


@given(st.integers(0, 2**32 - 1), st.sampled_from(range(len(SEEDS))))
def test_a_mutated_program_is_a_diagnostic_or_compiles(seed: int, which: int) -> None:
    tally = fuzz.Tally()
    with tempfile.TemporaryDirectory() as d:
        fuzz.check_program_text(fuzz.mutate(SEEDS[which][1], random.Random(seed)), d, tally)
    assert not tally.internal, tally.internal[0]


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["csv", "jsonl"]), st.sampled_from(["fail", "skip", "into"]),
       st.sampled_from(["local", "datafusion"]))
def test_a_damaged_file_is_a_diagnostic_or_every_record_is_counted(seed: int, kind: str, policy: str,
                                                                    target: str) -> None:
    rng = random.Random(seed)
    data = fuzz.damaged_csv(rng) if kind == "csv" else fuzz.damaged_jsonl(rng)
    tally = fuzz.Tally()
    fuzz.check_file(kind, data, policy, target, tally)
    assert not tally.internal, tally.internal[0]


def test_the_fuzzer_reaches_every_outcome() -> None:
    """Not a test that cannot fail: the mutations make both valid and invalid programs."""
    programs, files = fuzz.run(200, seed=11)
    assert programs.ok and programs.diagnostics and files.ok and files.diagnostics
