"""The one place times and finding ids are formatted and allocated."""

from copilot.diagnosis import Finding
from copilot.finding_ids import allocator, next_free
from copilot.timefmt import hhmm, when
from copilot.tools import ToolContext

T = 1715691930.0  # 2024-05-14 13:05:30 UTC


def test_hhmm_and_when_are_utc():
    assert hhmm(T) == "13:05" and hhmm(None) == "?"
    assert hhmm(T, precise=True) == "13:05:30" and hhmm(T - 30, precise=True) == "13:05"
    assert when(T) == "2024-05-14 13:05 UTC" and when(T, seconds=True) == "2024-05-14 13:05:30 UTC"


def test_ids_are_unique_among_taken_and_issued():
    assert next_free("M", set()) == "M1"
    assert next_free("M", {"M1", "M2", "L1"}) == "M3"
    assert next_free("M", {"M2"}) == "M3"  # one past the count would be M2: taken, so skipped
    assert next_free("M", {"MX1", "M1"}) == "M2"  # only <prefix><number> counts
    next_id = allocator(["M1", "L1"])
    assert [next_id("M"), next_id("M"), next_id("L"), next_id("T")] == ["M2", "M3", "L2", "T1"]


def test_the_tool_context_allocates_the_same_way():
    def finding(fid):
        return Finding(id=fid, source="metrics", component="cart", signal="cpu", kind="spike", summary="x")

    ctx = ToolContext(findings=[finding("M1"), finding("M3")])
    assert ctx.next_finding_id("M") == "M4" and ctx.next_finding_id("L") == "L1"
