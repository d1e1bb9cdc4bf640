"""Fused recurrences with hand-written backpropagation through time.

Automatic differentiation of a time loop keeps every intermediate of every step
and accumulates the recurrent-kernel gradient with one small matrix product
per step. These kernels instead save only what the backward pass needs (the
gate activations and the states), run a lean reverse loop that carries
`dh`/`dc`, and compute the recurrent-kernel gradient after the loop as **one**
large matrix product over all steps, `H_prev^T @ dZ` — what cuDNN does, in
`keras.ops`, so it also runs under XLA and on any device.

Everything is kept in per-gate blocks of shape `(batch, units)`: the projected
inputs arrive as one `(timesteps, batch, units)` tensor per gate, the step
multiplies the state by each gate's block of the recurrent kernel, and the
backward step multiplies each gate's gradient by that block's transpose and
sums. On a CPU, in TensorFlow's executor, concatenating and splitting along
the last axis (what a `(batch, gates * units)` layout needs at every step,
forward and backward) costs more than the extra small matrix products;
blocks avoid it. Under XLA, where slices are free inside fusions, the driver
can instead take one concatenated product forward (`concat_matmul`) and/or
backward (`concat_backward`); see `RecurrentLayer.inner_loop` for which
combination the layers use.

A kernel describes one cell type: `forward(xp_t, rec, states, weights)` of
one step, given the step's projected inputs and recurrent products `h W_g`
per gate (computed by the driver, per block or as one concatenated product),
and `backward(d_new, saved, weights)`; the driver `fused_rnn` handles masks,
outputs, initial/final states and the custom gradient. Kernels exist for the
default activations (tanh/sigmoid) of `SimpleRNN`, `LSTM` and `GRU`
(`reset_after=True`); other configurations use automatic differentiation of
the same fused forward loop.
"""

import keras
from keras import ops

from kerasrnn.ops.scan import scan


def sigmoid_grad(y, dy):
    """`dy * y * (1 - y)`, the gradient through `y = sigmoid(x)`: one fused
    op on TensorFlow (`SigmoidGrad`, also under XLA), three elsewhere."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.raw_ops.SigmoidGrad(y=y, dy=dy)
    return dy * y * (1.0 - y)


def tanh_grad(y, dy):
    """`dy * (1 - y**2)`, the gradient through `y = tanh(x)` (`TanhGrad` on
    TensorFlow)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.raw_ops.TanhGrad(y=y, dy=dy)
    return dy * (1.0 - y * y)


def custom_gradient(f):
    """`keras.ops.custom_gradient` for a function of several tensors
    returning several tensors: `f(*args) -> (outputs, grad)` with
    `grad(*upstream) -> one gradient per arg`.

    On the torch backend Keras's version passes one upstream gradient only
    (and the inputs as arguments of `grad`), so a `torch.autograd.Function`
    stands in for it there.
    """
    if keras.backend.backend() != "torch":
        return ops.custom_gradient(f)
    import torch

    class Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            outputs, ctx.grad = f(*args)
            return outputs

        @staticmethod
        def backward(ctx, *upstream):
            return ctx.grad(*upstream)

    return Function.apply


class LSTMKernel:
    """i, f, g, o = σ, σ, tanh, σ of `x W + b + h U`; c' = f c + i g; h' = o tanh(c')."""

    num_states = 2
    blocks = 4
    num_saved = 6  # i, f, g, o, tanh(c), c_{t-1}
    #: Whether `backward` also reads h_{t-1} (appended to `saved` from the
    #: stack the recurrent-kernel gradient uses, so it is not saved twice).
    reads_h_prev = False

    def forward(self, xp_t, rec, states, weights):
        h, c = states
        x_i, x_f, x_g, x_o = xp_t
        r_i, r_f, r_g, r_o = rec
        i = ops.sigmoid(x_i + r_i)
        f = ops.sigmoid(x_f + r_f)
        g = ops.tanh(x_g + r_g)
        o = ops.sigmoid(x_o + r_o)
        c = f * c + i * g
        tanh_c = ops.tanh(c)
        h = o * tanh_c
        return (h, c), (i, f, g, o, tanh_c, states[1])

    def backward(self, d_new, saved, weights):
        dh, dc = d_new
        i, f, g, o, tanh_c, c_prev = saved
        dc = dc + tanh_grad(tanh_c, dh * o)
        dz = (
            sigmoid_grad(i, dc * g),
            sigmoid_grad(f, dc * c_prev),
            tanh_grad(g, dc * i),
            sigmoid_grad(o, dh * tanh_c),
        )
        # (dxp, d(recurrent matmul outputs), direct grads of the previous states)
        return dz, dz, (None, dc * f)

    def weight_grads(self, d_kernel, d_rec):
        return (d_kernel,)

    def weights(self, cell):
        return (cell.recurrent_kernel,)


class GRUKernel:
    """Keras's GRU with `reset_after=True`; weights are `(U, recurrent_bias)`."""

    num_states = 1
    blocks = 3
    num_saved = 4  # z, r, hh, r_h (and h_{t-1}, read from the h stack)
    reads_h_prev = True

    def forward(self, xp_t, rec, states, weights):
        (h,) = states
        b_h = weights[1][2]
        x_z, x_r, x_h = xp_t
        # The update and reset gates' recurrent biases are in `x_z`, `x_r`
        # (`GRUCell.fused_input_bias`); only the candidate's stays here.
        z = ops.sigmoid(x_z + rec[0])
        r = ops.sigmoid(x_r + rec[1])
        r_h = rec[2] + b_h
        hh = ops.tanh(x_h + r * r_h)
        h_new = z * h + (1 - z) * hh
        return (h_new,), (z, r, hh, r_h)

    def backward(self, d_new, saved, weights):
        (dh,) = d_new
        z, r, hh, r_h, h_prev = saved
        da = tanh_grad(hh, dh * (1 - z))
        dz = sigmoid_grad(z, dh * (h_prev - hh))
        dr = sigmoid_grad(r, da * r_h)
        return (dz, dr, da), (dz, dr, da * r), (dh * z,)

    def weight_grads(self, d_kernel, d_rec):
        # Gates z and r get their recurrent-bias gradient through the input
        # projection they were folded into; this use of the bias feeds b_h only.
        d_h = ops.sum(d_rec[2], axis=(0, 1))
        return d_kernel, ops.concatenate([ops.zeros_like(d_h), ops.zeros_like(d_h), d_h], axis=0)

    def weights(self, cell):
        bias = cell.bias[1] if cell.use_bias else ops.zeros((3 * cell.units,), cell.compute_dtype)
        return cell.recurrent_kernel, bias


class SimpleRNNKernel:
    """h' = tanh(x W + b + h U)."""

    num_states = 1
    blocks = 1
    num_saved = 1  # h_t
    reads_h_prev = False

    def forward(self, xp_t, rec, states, weights):
        h = ops.tanh(xp_t[0] + rec[0])
        return (h,), (h,)

    def backward(self, d_new, saved, weights):
        (h,) = saved
        da = tanh_grad(h, d_new[0])
        return (da,), (da,), (None,)

    def weight_grads(self, d_kernel, d_rec):
        return (d_kernel,)

    def weights(self, cell):
        return (cell.recurrent_kernel,)


def fused_rnn(kernel, xp, initial_states, weights, mask=None, zero_output_for_mask=False, unroll=1,
              concat_matmul=False, concat_backward=False, save_for_backward=True):
    """Runs a fused kernel over time-major projected inputs.

    Args:
        kernel: One of `LSTMKernel()`, `GRUKernel()`, `SimpleRNNKernel()`.
        xp: Tuple of `kernel.blocks` tensors `(timesteps, batch, units)`, one
            per gate: `x W_g + input_bias_g` of every step (already in
            processing order).
        initial_states: Tuple of `(batch, units)` states; the first is `h`.
        weights: Tuple of weight tensors; the first is the recurrent kernel
            `(units, blocks * units)`; every weight is split into its gate
            blocks for the kernel.
        mask: Optional boolean `(timesteps, batch, 1)`. Masked steps keep the
            states and repeat the previous output (Keras semantics).
        zero_output_for_mask: Emit zeros instead at masked steps.
        unroll: Steps per loop iteration.
        concat_matmul: One `(batch, units) x (units, blocks * units)` product
            per forward step whose result is sliced into gates, instead of
            one product per gate block. Slices are free inside an XLA
            fusion; in TensorFlow's executor they are copies.
        concat_backward: One `(batch, blocks * units) x (blocks * units,
            units)` product per backward step, of the concatenated gate
            gradients with the transposed recurrent kernel, instead of one
            product per gate block and their sum.
        save_for_backward: Keep what the hand-written backward pass needs
            and attach it as the gradient. `False` (inference) runs the
            forward loop alone, saving nothing but the outputs; gradients,
            if taken anyway, then come from automatic differentiation of
            that loop.

    Returns:
        `(outputs, final_states)` with `outputs` `(timesteps, batch, units)`.
    """
    n_states = kernel.num_states
    n_blocks = kernel.blocks
    n_weights = len(weights)
    xp = tuple(xp)
    if len(xp) != n_blocks:
        raise ValueError(f"`xp` must hold {n_blocks} gate blocks. Received: {len(xp)}")
    dtype = xp[0].dtype
    masked = mask is not None
    if masked:
        keep = ops.cast(mask, dtype)
        hold = 1.0 - keep

    def forward(xp_, states0, weights_, save):
        """The forward loop: `(final carry, outputs, h per step, saved
        activations, weight blocks)`; with `save=False`, `h` per step is
        `None` and nothing is saved."""
        blocks = tuple(tuple(ops.split(w, n_blocks, axis=-1)) for w in weights_)

        def recurrent(h):
            if concat_matmul:
                return tuple(ops.split(ops.matmul(h, weights_[0]), n_blocks, axis=-1))
            return tuple(ops.matmul(h, u) for u in blocks[0])

        def step(carry, inputs):
            states = carry[:n_states]
            if masked:
                xp_t, keep_t = inputs
                new_states, saved = kernel.forward(xp_t, recurrent(states[0]), states, blocks)
                h_new = new_states[0]
                states = tuple(ops.where(keep_t > 0, n, s) for n, s in zip(new_states, states))
                fill = ops.zeros_like(h_new) if zero_output_for_mask else carry[-1]
                y = ops.where(keep_t > 0, h_new, fill)
                return states + (y,), ((y, states[0]) + tuple(saved) if save else (y,))
            new_states, saved = kernel.forward(inputs, recurrent(states[0]), states, blocks)
            return tuple(new_states), (new_states[0],) + (tuple(saved) if save else ())

        init = states0 + ((ops.zeros_like(states0[0]),) if masked else ())
        n_stacked = 2 if masked and save else 1
        # The outputs and `h` (for the recurrent-kernel gradient) are stacked;
        # what only the backward loop reads stays in per-step buffers, which
        # it reads in place (on TensorFlow; saves a copy of each).
        carry, ys = scan(
            step,
            init,
            (xp_, keep) if masked else xp_,
            unroll=unroll,
            differentiable=False,
            stack=(True,) * n_stacked + (False,) * (kernel.num_saved if save else 0),
        )
        h_states = ys[n_stacked - 1] if save else None
        return carry, ys[0], h_states, tuple(ys[n_stacked:]), blocks

    if not save_for_backward:
        carry, outputs, _, _, _ = forward(xp, tuple(initial_states), tuple(weights), save=False)
        return outputs, list(carry[:n_states])

    @custom_gradient
    def run(*args):
        xp_ = tuple(args[:n_blocks])
        states0 = tuple(args[n_blocks : n_blocks + n_states])
        weights_ = tuple(args[n_blocks + n_states :])
        carry, outputs, h_states, saved_stacks, blocks = forward(xp_, states0, weights_, save=True)
        final_states = carry[:n_states]
        h_prev = ops.concatenate([ops.expand_dims(states0[0], 0), h_states[:-1]], axis=0)

        def grad(*upstream, **unused):
            # TensorFlow passes one gradient per output; JAX passes the
            # gradients of all outputs as one tuple.
            if len(upstream) == 1 and isinstance(upstream[0], (tuple, list)):
                upstream = tuple(upstream[0])
            d_outputs, d_finals = upstream[0], upstream[1:]
            # `d_outputs` is None when only the final states are used (a layer
            # without `return_sequences` returns its final `h`): then the
            # backward loop has no per-step output gradient to read.
            d_finals = tuple(_zeros_if_none(d, s) for d, s in zip(d_finals, final_states))
            # The transposed recurrent kernel, whole or per gate block, for
            # the gradient flowing back through the recurrent product.
            if concat_backward:
                full_t = ops.transpose(weights_[0])
            else:
                kernel_t = tuple(ops.transpose(u) for u in blocks[0])
            read_stacks = saved_stacks + ((h_prev,) if kernel.reads_h_prev else ())
            n_saved = len(read_stacks)

            has_dy = d_outputs is not None
            # Which recurrent-product gradients are the gate gradients
            # themselves (all for LSTM and SimpleRNN, z and r for GRU): those
            # are stacked once. Filled in when `back` is traced.
            shared = []

            def back(carry, inputs):
                d_states = carry[:n_states]
                if has_dy:
                    d_y, inputs = inputs[0], inputs[1:]
                saved = inputs[:n_saved]
                if masked:
                    keep_t, hold_t = inputs[n_saved:]
                    d_y = d_y + carry[-1] if has_dy else carry[-1]
                    d_new = (keep_t * (d_states[0] + d_y),) + tuple(keep_t * d for d in d_states[1:])
                elif has_dy:
                    d_new = (d_states[0] + d_y,) + tuple(d_states[1:])
                else:
                    d_new = d_states
                dxp_t, d_rec_t, d_prev = kernel.backward(d_new, saved, blocks)
                if concat_backward:
                    through = ops.matmul(ops.concatenate(d_rec_t, axis=-1), full_t)
                else:
                    through = ops.matmul(d_rec_t[0], kernel_t[0])
                    for d, u_t in zip(d_rec_t[1:], kernel_t[1:]):
                        through = through + ops.matmul(d, u_t)
                d_prev = (through if d_prev[0] is None else d_prev[0] + through,) + tuple(d_prev[1:])
                d_prev = tuple(
                    ops.zeros_like(d_states[i]) if d is None else d for i, d in enumerate(d_prev)
                )
                shared[:] = [a is b for a, b in zip(d_rec_t, dxp_t)]
                ys = tuple(dxp_t) + tuple(a for a, b in zip(d_rec_t, dxp_t) if a is not b)
                if masked:
                    d_prev = tuple(d + hold_t * ds for d, ds in zip(d_prev, d_states))
                    d_y_carry = ops.zeros_like(d_y) if zero_output_for_mask else hold_t * d_y
                    return d_prev + (d_y_carry,), ys
                return d_prev, ys

            xs = ((d_outputs,) if has_dy else ()) + read_stacks
            if masked:
                xs = xs + (keep, hold)
            init = d_finals + ((ops.zeros_like(d_finals[0]),) if masked else ())
            carry, grads = scan(back, init, xs, unroll=unroll, reverse=True, differentiable=False)
            dxp = tuple(grads[:n_blocks])
            extra = iter(grads[n_blocks:])
            d_rec = tuple(dx if same else next(extra) for dx, same in zip(dxp, shared))
            # sum_t h_{t-1}^T dZ_t, one matrix product per gate over all steps.
            h_prev_t = ops.transpose(ops.reshape(h_prev, (-1, h_prev.shape[-1])))
            d_kernel = ops.concatenate(
                [ops.matmul(h_prev_t, ops.reshape(d, (-1, d.shape[-1]))) for d in d_rec], axis=-1
            )
            d_weights = kernel.weight_grads(d_kernel, d_rec)
            assert len(d_weights) == n_weights
            return dxp + tuple(carry[:n_states]) + tuple(d_weights)

        return (outputs,) + tuple(final_states), grad

    results = run(*xp, *initial_states, *weights)
    return results[0], list(results[1:])


def _zeros_if_none(d, like):
    return ops.zeros_like(like) if d is None else d
