"""SLO text: clauses, units, and the clear error for what is not understood."""

from __future__ import annotations

import pytest

from beluga.bench.slo import parse_slo
from beluga.core.errors import BelugaError


def test_clauses_and_units() -> None:
    slo = parse_slo("p95 ttft < 500ms and error_rate < 1%, tps >= 40, p99 e2e <= 2s, itl < 300us")
    got = [(c.measure, c.percentile, c.op, c.value) for c in slo.clauses]
    assert got == [
        ("ttft", 95.0, "<", 0.5),
        ("error_rate", None, "<", 0.01),
        ("tps", None, ">=", 40.0),
        ("e2e", 99.0, "<=", 2.0),
        ("itl", 50.0, "<", pytest.approx(0.0003)),
    ]
    assert str(parse_slo("p95 ttft < 500ms")) == "p95 ttft < 500ms"
    assert parse_slo("e2e < 100").clauses[0].value == pytest.approx(0.1)  # bare number: ms


def test_met_and_check() -> None:
    slo = parse_slo("p95 ttft < 500ms and error_rate < 5%")
    values = {"ttft": 0.4, "error_rate": 0.1}
    checked = slo.check(lambda c: values[c.measure])
    assert [ok for _, _, ok in checked] == [True, False]
    assert not slo.met(lambda c: values[c.measure])
    assert not slo.met(lambda c: None)  # nothing measured never meets a target


@pytest.mark.parametrize("text", ["p95 latency < 5ms", "ttft 500ms", "p95 ttft < fast"])
def test_unknown_clause_is_one_clear_error(text: str) -> None:
    with pytest.raises(BelugaError, match="not understood") as info:
        parse_slo(text)
    assert "p95 ttft < 500ms" in info.value.message
