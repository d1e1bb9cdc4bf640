"""Learning-rate drops at given epochs, as text (`"60:3e-4,100:1e-4"`) and
as a Keras callback.

The rate is a function of the epoch only, so a run resumed by
`kerasrnn.training.fit` follows the schedule from the epoch it resumes at.
"""

from kerasrnn.validation import ArgumentError


def parse_epoch_schedule(text, argument="lr_schedule"):
    """`"60:3e-4,100:1e-4"` -> `[(60, 3e-4), (100, 1e-4)]`: after `EPOCH`
    epochs the learning rate is `LR`; `None` -> `[]`.

    Epochs must be positive and increase, rates be positive; anything else
    raises `kerasrnn.validation.ArgumentError` naming `argument`.
    """
    if text is None:
        return []
    steps = []
    for part in str(text).split(","):
        try:
            epoch, rate = part.split(":")
            epoch, rate = int(epoch), float(rate)
        except ValueError:
            epoch, rate = None, None
        if epoch is None or epoch < 1 or not rate > 0 or (steps and epoch <= steps[-1][0]):
            raise ArgumentError(
                argument, text, "EPOCH:LR pairs with increasing positive epochs and positive rates, "
                "separated by commas (e.g. 60:3e-4,100:1e-4)")
        steps.append((epoch, rate))
    return steps


def scheduled_rate(schedule, base_rate, epoch):
    """The learning rate of (0-based) `epoch` under `schedule`
    (`parse_epoch_schedule`'s pairs); `base_rate` before the first drop."""
    rate = base_rate
    for start, value in schedule:
        if epoch >= start:
            rate = value
    return rate


def epoch_schedule_callback(schedule, base_rate):
    """A `keras.callbacks.LearningRateScheduler` setting the rate at each
    epoch's start to `scheduled_rate(schedule, base_rate, epoch)`.

    Example:

    ```python
    schedule = parse_epoch_schedule("60:3e-4,100:1e-4")
    model.fit(..., callbacks=[epoch_schedule_callback(schedule, 1e-3)])
    ```
    """
    import keras

    return keras.callbacks.LearningRateScheduler(lambda epoch, _: scheduled_rate(schedule, base_rate, epoch))
