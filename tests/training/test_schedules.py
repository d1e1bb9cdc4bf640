"""`kerasrnn.training.schedules`: learning-rate drops at given epochs."""

import pytest

from kerasrnn.training.schedules import epoch_schedule_callback
from kerasrnn.training.schedules import parse_epoch_schedule
from kerasrnn.training.schedules import scheduled_rate
from kerasrnn.validation import ArgumentError


def test_parsing_and_rates():
    assert parse_epoch_schedule(None) == []
    schedule = parse_epoch_schedule("60:3e-4,100:1e-4")
    assert schedule == [(60, 3e-4), (100, 1e-4)]
    expected = [1e-3, 1e-3, 3e-4, 3e-4, 1e-4, 1e-4]
    epochs = (0, 59, 60, 99, 100, 500)
    assert [scheduled_rate(schedule, 1e-3, e) for e in epochs] == expected
    rate = epoch_schedule_callback(schedule, 1e-3).schedule
    assert [rate(e, None) for e in epochs] == expected


@pytest.mark.parametrize("bad", ["60", "60:0", "0:1e-4", "60:1e-4,60:1e-5", "100:1e-4,60:1e-5", "a:b", "60:1e-4,"])
def test_bad_schedules_name_the_argument(bad):
    with pytest.raises(ArgumentError, match=r"`--lr-schedule` must be EPOCH:LR pairs.*Received: --lr-schedule="):
        parse_epoch_schedule(bad, argument="--lr-schedule")
