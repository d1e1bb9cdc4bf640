"""A Ctrl-C during training that is never lost.

Python drops an exception raised while a garbage-collector callback or a
`__del__` method runs ("Exception ignored in ..."); JAX and TensorFlow
register such callbacks, so the `KeyboardInterrupt` of a SIGINT that
arrives while one runs vanishes and training goes on. `interrupts_noticed`
remembers every SIGINT and raises it again at the next batch or epoch end.
"""

import contextlib
import signal
import threading


@contextlib.contextmanager
def interrupts_noticed():
    """Within this block a SIGINT raises `KeyboardInterrupt` as usual and is
    remembered; yields a Keras callback that raises `KeyboardInterrupt` at
    the next batch end or epoch end once one arrived (put it last, so that
    an epoch's backup commits first). Outside the main thread, or where
    SIGINT is not Python's default handler (ignored, or handled by the
    application), nothing changes and the callback does nothing."""
    import keras

    received = []

    class InterruptCheck(keras.callbacks.Callback):
        def _check(self, *args, **kwargs):
            if received:
                raise KeyboardInterrupt

        on_train_batch_end = on_test_batch_end = on_predict_batch_end = on_epoch_end = _check

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield InterruptCheck()
        return

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield InterruptCheck()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
