"""Alarm drills: every alarm of the template fires in the scenarios it exists for, and stays
quiet in the others. The minutes are worked out by hand from each alarm's definition (below),
with a little room for the simulated traffic's randomness.
"""

from __future__ import annotations

from functools import cache

import pytest

from dev_support.paths import TEMPLATE_PATH
from emulator import drills
from emulator.alarms import load_alarms
from emulator.template import transform_offline

FAULT = drills.FAULT_MINUTE
# Alarm logical id -> (earliest, latest) minute it may go to ALARM; every other alarm of
# the template must stay OK throughout, and anomaly detection is not evaluated locally.
EXPECTED: dict[str, dict[str, tuple[int, int]]] = {
    "healthy": {},
    "5xx-5pct": {
        # 5 % > 1 % in 3 of 5 one-minute periods: the third faulty minute's end.
        "ApiAvailabilityAlarm": (FAULT + 3, FAULT + 3),
        # 14.4 x 0.1 % = 1.44 %: over 1 h once 5 % x k / 60 >= 1.44 %, k ~ 18; over 5 min at once.
        "SloFastBurnLongWindow": (FAULT + 15, FAULT + 22),
        "SloFastBurnShortWindow": (FAULT + 1, FAULT + 3),
        "SloFastBurnAlarm": (FAULT + 15, FAULT + 22),
        # 6 x 0.1 % = 0.6 %: over the 2 h of data so far once 5 % x k / (60 + k) >= 0.6 %;
        # over 30 min once 5 % x k / 30 >= 0.6 %.
        "SloSlowBurnLongWindow": (FAULT + 7, FAULT + 11),
        "SloSlowBurnShortWindow": (FAULT + 3, FAULT + 6),
        "SloSlowBurnAlarm": (FAULT + 7, FAULT + 11),
    },
    "5xx-50pct-10min": {
        "ApiAvailabilityAlarm": (FAULT + 3, FAULT + 3),
        # Crashes are Lambda errors: 2 of 5 one-minute periods.
        "InferenceErrorsAlarm": (FAULT + 2, FAULT + 2),
        "SloFastBurnLongWindow": (FAULT + 1, FAULT + 3),
        "SloFastBurnShortWindow": (FAULT + 1, FAULT + 2),
        "SloFastBurnAlarm": (FAULT + 1, FAULT + 3),
        "SloSlowBurnLongWindow": (FAULT + 1, FAULT + 2),
        "SloSlowBurnShortWindow": (FAULT + 1, FAULT + 2),
        "SloSlowBurnAlarm": (FAULT + 1, FAULT + 2),
    },
    # p99 of the model: 2 % of calls at 20-30 ms, 100-150 ms once 5 times as slow; 3 of 5.
    "model-latency-x5": {"ModelLatencyAlarm": (FAULT + 3, FAULT + 3)},
    # 3,000 THROTTLED a minute > 100 in 5 minutes: the first faulty minute's end.
    "throttling-storm": {"ThrottlingAlarm": (FAULT + 1, FAULT + 2)},
    # Each failed batch: 3 failed attempts and one more message parked in the queue.
    "log-processor-failing": {
        "LogProcessorErrorsAlarm": (FAULT + 1, FAULT + 2),
        "FailedBatchesAlarm": (FAULT + 1, FAULT + 2),
    },
    # Missing data is not breaching for every evaluated alarm: silence is traffic-drop's job.
    "traffic-stopping": {},
    # One 3 s request among 3 a minute: the p99 alarms wait for enough samples, and the
    # latency SLO's 5-minute burn is 1 in 15 requests, 6.7 x, below 14.4.
    "low-traffic-cold-start": {},
}


@cache
def results() -> dict[str, dict[str, int | str | None]]:
    template = transform_offline(TEMPLATE_PATH)
    alarms = load_alarms(template=template)
    names = drills.names_of(template)
    return {scenario.name: drills.run(scenario, alarms, names) for scenario in drills.SCENARIOS}


def test_every_scenario_is_drilled() -> None:
    assert set(EXPECTED) == {scenario.name for scenario in drills.SCENARIOS}
    assert all(scenario.minutes >= 120 for scenario in drills.SCENARIOS)


@pytest.mark.parametrize("scenario", list(EXPECTED))
def test_each_alarm_fires_when_it_should_and_only_then(scenario: str) -> None:
    outcome = results()[scenario]

    assert isinstance(outcome.pop("TrafficDropAlarm"), str)  # not evaluated locally
    for alarm, first_alarm in outcome.items():
        if alarm in EXPECTED[scenario]:
            earliest, latest = EXPECTED[scenario][alarm]
            assert isinstance(first_alarm, int), (alarm, first_alarm)
            assert earliest <= first_alarm <= latest, (alarm, first_alarm)
        else:
            assert first_alarm is None, (alarm, first_alarm)
