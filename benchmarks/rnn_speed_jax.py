"""Training speed of kerasrnn's LSTM/GRU on Keras's JAX backend, on whatever
device JAX uses (a GPU where there is one), against Keras's own layers on
the same backend and, when PyTorch with CUDA is importable, against
PyTorch's cuDNN `nn.LSTM`/`nn.GRU` — the cuDNN kernels Keras's TensorFlow
backend calls on a GPU.

Same cases as `rnn_speed.py`: one Adam training step, MSE on the last output,
identical shapes (and, for the two Keras models, identical weights); the steps
are timed in alternation (median). Each step includes its framework's Python
dispatch, as a user's `train_on_batch` / training loop does.

    KERAS_BACKEND=jax python benchmarks/rnn_speed_jax.py --output benchmarks/results/rnn_speed_jax_gpu.json
    KERAS_BACKEND=jax python benchmarks/rnn_speed_jax.py --quick
"""

import argparse
import os
import platform
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # share the GPU with PyTorch

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasrnn  # noqa: E402
from kerasrnn.analysis import time_alternating  # noqa: E402
from benchutil import write_report  # noqa: E402

CONFIGS = [(64, 100, 64, 256), (32, 200, 128, 512), (256, 50, 32, 128)]
QUICK_CONFIGS = [(8, 10, 8, 16)]


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def keras_step(layer_cls, config, policy):
    batch, steps, features, units = config
    keras.config.set_dtype_policy(policy)
    try:
        inputs = keras.Input((steps, features), batch_size=batch)
        model = keras.Model(inputs, layer_cls(units)(inputs))
        model.compile(keras.optimizers.Adam(1e-3), "mse")
    finally:
        keras.config.set_dtype_policy("float32")
    return model


def torch_step(torch, cell, config, policy, x, y):
    batch, steps, features, units = config
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](features, units, batch_first=True).cuda()
    optimizer = torch.optim.Adam(module.parameters(), 1e-3)
    x = torch.as_tensor(x).cuda()
    y = torch.as_tensor(y).cuda()
    bf16 = policy == "mixed_bfloat16"

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            out, _ = module(x)
            loss = ((out[:, -1].float() - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()  # waits for the GPU

    def infer():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            out, _ = module(x)
        torch.cuda.synchronize()

    return step, infer


def bench_case(cell, config, policy, steps, warmup, torch):
    batch, length, features, units = config
    rng = np.random.RandomState(0)
    x = rng.randn(batch, length, features).astype("float32")
    y = rng.randn(batch, units).astype("float32")
    xj, yj = jax.device_put(x), jax.device_put(y)
    ours_cls = kerasrnn.layers.get_recurrent_layer(cell)
    keras_cls = getattr(keras.layers, ours_cls.__name__)  # Keras's layer of the same name
    theirs = keras_step(keras_cls, config, policy)
    ours = keras_step(ours_cls, config, policy)
    ours.set_weights(theirs.get_weights())
    assert ours.layers[-1].loop_implementation(True) == "fused_bptt"
    train = [lambda m=m: m.train_on_batch(xj, yj) for m in (theirs, ours)]
    infer = [lambda m=m: np.asarray(m.predict_on_batch(xj)) for m in (theirs, ours)]
    if torch is not None:
        t_step, t_infer = torch_step(torch, cell, config, policy, x, y)
        train.append(t_step)
        infer.append(t_infer)
    train_ms = time_alternating(train, steps, warmup)
    infer_ms = time_alternating(infer, steps, warmup)
    result = {
        "cell": cell, "batch": batch, "timesteps": length, "features": features, "units": units, "policy": policy,
        "keras_train_ms": train_ms[0], "ours_train_ms": train_ms[1], "train_ratio": train_ms[1] / train_ms[0],
        "keras_infer_ms": infer_ms[0], "ours_infer_ms": infer_ms[1], "infer_ratio": infer_ms[1] / infer_ms[0],
    }
    if torch is not None:
        result.update(
            cudnn_train_ms=train_ms[2], ours_over_cudnn_train=train_ms[1] / train_ms[2],
            cudnn_infer_ms=infer_ms[2], ours_over_cudnn_infer=infer_ms[1] / infer_ms[2],
        )
    keras.backend.clear_session()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the results as JSON here")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per case (median)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cells", default="lstm,gru")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, few steps")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        parser.error(f"run with KERAS_BACKEND=jax. Received: backend={keras.backend.backend()!r}")
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    steps, warmup = (3, 1) if args.quick else (args.steps, args.warmup)
    torch = _torch()
    device = str(jax.devices()[0])
    print(f"JAX device: {device}; cuDNN reference: {'PyTorch ' + torch.__version__ if torch else 'none'}", flush=True)
    header = (f"{'cell':5} {'B':>4} {'T':>4} {'D':>4} {'H':>4} {'policy':>15} | {'keras ms':>9} {'ours ms':>8} "
              f"{'ratio':>6} | {'cuDNN ms':>8} {'ours/cuDNN':>10} | {'infer ratio':>11} {'ours/cuDNN inf':>14}")
    print(header)
    print("-" * len(header))
    results = []
    for cell in args.cells.split(","):
        for config in configs:
            for policy in args.policies.split(","):
                r = bench_case(cell, config, policy, steps, warmup, torch)
                results.append(r)
                cudnn = (f"{r['cudnn_train_ms']:>8.2f} {r['ours_over_cudnn_train']:>10.2f}" if torch else f"{'-':>8} {'-':>10}")
                cudnn_inf = f"{r['ours_over_cudnn_infer']:>14.2f}" if torch else f"{'-':>14}"
                print(f"{cell:5} {r['batch']:>4} {r['timesteps']:>4} {r['features']:>4} {r['units']:>4} {policy:>15} | "
                      f"{r['keras_train_ms']:>9.2f} {r['ours_train_ms']:>8.2f} {r['train_ratio']:>6.2f} | {cudnn} | "
                      f"{r['infer_ratio']:>11.2f} {cudnn_inf}", flush=True)
    report = {
        "device": device,
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "versions": {"jax": jax.__version__, "keras": keras.__version__, "kerasrnn": kerasrnn.__version__,
                     "torch": torch.__version__ if torch else None},
        "steps": steps,
        "results": results,
    }
    write_report(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
