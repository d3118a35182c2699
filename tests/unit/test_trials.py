"""make bench's rotated trios: the order, the voiding, the medians, by table."""

from __future__ import annotations

from typing import Any

import pytest

from bench import trials


def variant(total_s: float, **cpu_ms: float) -> dict[str, Any]:
    return {"total_s": total_s, "cost": {"cpu_ms": cpu_ms}}


def trio(ours: float, plain: float, floor: float, ours_cpu: float = 70.0, operator: float = 10.0) -> dict[str, Any]:
    return {
        "ours": variant(ours, **{"kube-apiserver": ours_cpu - operator, "operator": operator, "benchmark": 5.0}),
        "plain": variant(plain, **{"kube-apiserver": 40.0, "benchmark": 4.0, "machine": 60.0}),
        "floor": variant(floor, **{"kube-apiserver": 50.0, "benchmark": 9.0, "machine": 70.0}),
    }


def test_each_variant_goes_first_second_and_third_once_in_three_trios():
    orders = trials.orders(3)
    assert [o[0] for o in orders] == ["ours", "plain", "floor"]
    for position in range(3):
        assert sorted(o[position] for o in orders) == sorted(trials.VARIANTS)
    assert trials.orders(4)[3] == orders[0]


@pytest.mark.parametrize(
    ("plain_totals", "void"),
    [
        ((20.0, 21.0, 22.0), [False, False, False]),
        ((20.0, 21.0, 25.0), [False, False, True]),  # 19% over the median
        ((15.0, 21.0, 22.0), [True, False, False]),  # 29% under
        ((20.0, 20.0), [False, False]),
    ],
)
def test_a_trio_whose_plain_burst_moved_over_15_percent_is_voided(plain_totals, void):
    assert trials.voided([trio(30.0, p, 25.0) for p in plain_totals]) == void


def test_the_figures_are_medians_of_the_standing_trios_without_the_benchmark():
    trios = [trio(36.0, 20.0, 24.0, ours_cpu=72.0), trio(33.0, 22.0, 25.0, ours_cpu=70.0, operator=8.0)]
    trios.append(trio(60.0, 30.0, 40.0, ours_cpu=90.0))  # voided: plain 36% over the median
    result = trials.summary(trios)
    assert (result["trios"], result["voided"]) == (3, 1)
    assert result["total_ratio"] == {"median": pytest.approx(1.65), "min": 1.5, "max": 1.8}
    # Cluster CPU: the kube-apiserver's and the operator's; the benchmark's 5 ms is not in it.
    assert result["ours_cpu_ms"]["median"] == pytest.approx(71.0)
    assert result["above_floor_ms"]["median"] == pytest.approx(21.0)
    assert result["operator_ms"] == {"median": 9.0, "min": 8.0, "max": 10.0}
    assert trials.median_trio(trios) is trios[1]  # ratio 1.5, the lower of the two standing
