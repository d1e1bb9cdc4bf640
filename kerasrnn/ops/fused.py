"""Fused recurrences with hand-written backpropagation through time.

Automatic differentiation of a time loop keeps every intermediate of every step
and accumulates the recurrent-kernel gradient with one small matrix product
per step. These kernels instead save only what the backward pass needs (the
gate activations and the states), run a lean reverse loop that carries
`dh`/`dc`, and compute the recurrent-kernel gradient after the loop as **one**
large matrix product over all steps, `H_prev^T @ dZ` — what cuDNN does, in
`keras.ops`, so it also runs under XLA and on any device.

A kernel describes one cell type (`forward` and `backward` of one step); the
driver `fused_rnn` handles masks, outputs, initial/final states and the
custom gradient. Kernels exist for the default activations (tanh/sigmoid) of
`SimpleRNN`, `LSTM` and `GRU` (`reset_after=True`); other configurations use
automatic differentiation of the same fused forward loop.
"""

from keras import ops

from kerasrnn.ops.scan import scan


class LSTMKernel:
    """i, f, g, o = σ, σ, tanh, σ of `x W + b + h U`; c' = f c + i g; h' = o tanh(c')."""

    num_states = 2
    prev_needed = (1,)  # c_{t-1}
    cur_needed = (1,)  # c_t

    def forward(self, xp_t, states, weights):
        h, c = states
        (kernel,) = weights
        z = xp_t + ops.matmul(h, kernel)
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        i, f, o = ops.sigmoid(z_i), ops.sigmoid(z_f), ops.sigmoid(z_o)
        g = ops.tanh(z_g)
        c = f * c + i * g
        h = o * ops.tanh(c)
        return (h, c), (ops.concatenate([i, f, g, o], axis=-1),)

    def backward(self, d_new, saved, prev, cur, weights):
        dh, dc = d_new
        (gates,) = saved
        (c_prev,) = prev
        (c,) = cur
        i, f, g, o = ops.split(gates, 4, axis=-1)
        tanh_c = ops.tanh(c)
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz = ops.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        # (dxp, d(recurrent matmul output), direct grads of the previous states)
        return dz, dz, (None, dc * f)

    def weight_grads(self, d_kernel, d_rec):
        return (d_kernel,)

    def weights(self, cell):
        return (cell.recurrent_kernel,)


class GRUKernel:
    """Keras's GRU with `reset_after=True`; weights are `(U, recurrent_bias)`."""

    num_states = 1
    prev_needed = (0,)  # h_{t-1}
    cur_needed = ()

    def forward(self, xp_t, states, weights):
        (h,) = states
        kernel, recurrent_bias = weights
        rec = ops.matmul(h, kernel) + recurrent_bias
        x_z, x_r, x_h = ops.split(xp_t, 3, axis=-1)
        r_z, r_r, r_h = ops.split(rec, 3, axis=-1)
        z = ops.sigmoid(x_z + r_z)
        r = ops.sigmoid(x_r + r_r)
        hh = ops.tanh(x_h + r * r_h)
        h = z * h + (1 - z) * hh
        return (h,), (ops.concatenate([z, r, hh, r_h], axis=-1),)

    def backward(self, d_new, saved, prev, cur, weights):
        (dh,) = d_new
        (stored,) = saved
        (h_prev,) = prev
        z, r, hh, r_h = ops.split(stored, 4, axis=-1)
        da = dh * (1 - z) * (1.0 - hh * hh)
        dz = dh * (h_prev - hh) * z * (1.0 - z)
        dr = da * r_h * r * (1.0 - r)
        dxp = ops.concatenate([dz, dr, da], axis=-1)
        d_rec = ops.concatenate([dz, dr, da * r], axis=-1)
        return dxp, d_rec, (dh * z,)

    def weight_grads(self, d_kernel, d_rec):
        return d_kernel, ops.sum(d_rec, axis=(0, 1))

    def weights(self, cell):
        bias = cell.bias[1] if cell.use_bias else ops.zeros((3 * cell.units,), cell.compute_dtype)
        return cell.recurrent_kernel, bias


class SimpleRNNKernel:
    """h' = tanh(x W + b + h U)."""

    num_states = 1
    prev_needed = ()
    cur_needed = (0,)

    def forward(self, xp_t, states, weights):
        (kernel,) = weights
        h = ops.tanh(xp_t + ops.matmul(states[0], kernel))
        return (h,), ()

    def backward(self, d_new, saved, prev, cur, weights):
        (h,) = cur
        da = d_new[0] * (1.0 - h * h)
        return da, da, (None,)

    def weight_grads(self, d_kernel, d_rec):
        return (d_kernel,)

    def weights(self, cell):
        return (cell.recurrent_kernel,)


def fused_rnn(kernel, xp, initial_states, weights, mask=None, zero_output_for_mask=False, unroll=1):
    """Runs a fused kernel over time-major projected inputs.

    Args:
        kernel: One of `LSTMKernel()`, `GRUKernel()`, `SimpleRNNKernel()`.
        xp: `(timesteps, batch, gates * units)`: `x W + input_bias` of every
            step (already in processing order).
        initial_states: Tuple of `(batch, units)` states; the first is `h`.
        weights: Tuple of weight tensors; the first is the recurrent kernel.
        mask: Optional boolean `(timesteps, batch, 1)`. Masked steps keep the
            states and repeat the previous output (Keras semantics).
        zero_output_for_mask: Emit zeros instead at masked steps.
        unroll: Steps per loop iteration.

    Returns:
        `(outputs, final_states)` with `outputs` `(timesteps, batch, units)`.
    """
    n_states = kernel.num_states
    n_weights = len(weights)
    dtype = xp.dtype
    masked = mask is not None
    if masked:
        keep = ops.cast(mask, dtype)
        hold = 1.0 - keep

    @ops.custom_gradient
    def run(xp, *args):
        states0 = tuple(args[:n_states])
        weights_ = tuple(args[n_states:])

        def step(carry, inputs):
            states = carry[:n_states]
            if masked:
                xp_t, keep_t = inputs
                new_states, saved = kernel.forward(xp_t, states, weights_)
                h_new = new_states[0]
                states = tuple(ops.where(keep_t > 0, n, s) for n, s in zip(new_states, states))
                fill = ops.zeros_like(h_new) if zero_output_for_mask else carry[-1]
                y = ops.where(keep_t > 0, h_new, fill)
                return states + (y,), (y,) + states + tuple(saved)
            new_states, saved = kernel.forward(inputs, states, weights_)
            return tuple(new_states), tuple(new_states) + tuple(saved)

        init = states0 + ((ops.zeros_like(states0[0]),) if masked else ())
        carry, stacked = scan(
            step, init, (xp, keep) if masked else xp, unroll=unroll, differentiable=False
        )
        final_states = carry[:n_states]
        if masked:
            outputs, state_stacks, saved_stacks = stacked[0], stacked[1 : 1 + n_states], stacked[1 + n_states :]
        else:
            outputs, state_stacks, saved_stacks = stacked[0], stacked[:n_states], stacked[n_states:]
        prev_stacks = tuple(
            ops.concatenate([ops.expand_dims(s0, 0), s[:-1]], axis=0)
            for s0, s in zip(states0, state_stacks)
        )

        def grad(d_outputs, *d_finals):
            d_outputs = _zeros_if_none(d_outputs, outputs)
            d_finals = tuple(_zeros_if_none(d, s) for d, s in zip(d_finals, final_states))
            kernel_t = ops.transpose(weights_[0])
            prev_needed = tuple(prev_stacks[i] for i in kernel.prev_needed)
            cur_needed = tuple(state_stacks[i] for i in kernel.cur_needed)
            n_prev, n_cur = len(prev_needed), len(cur_needed)

            def back(carry, inputs):
                d_states = carry[:n_states]
                d_y, rest = inputs[0], inputs[1:]
                saved = rest[: len(saved_stacks)]
                rest = rest[len(saved_stacks) :]
                prev, cur = rest[:n_prev], rest[n_prev : n_prev + n_cur]
                if masked:
                    keep_t, hold_t = rest[n_prev + n_cur :]
                    d_y = d_y + carry[-1]
                    d_new = (keep_t * (d_states[0] + d_y),) + tuple(keep_t * d for d in d_states[1:])
                else:
                    d_new = (d_states[0] + d_y,) + tuple(d_states[1:])
                dxp_t, d_rec_t, d_prev = kernel.backward(d_new, saved, prev, cur, weights_)
                through = ops.matmul(d_rec_t, kernel_t)
                d_prev = (through if d_prev[0] is None else d_prev[0] + through,) + tuple(d_prev[1:])
                d_prev = tuple(
                    ops.zeros_like(d_states[i]) if d is None else d for i, d in enumerate(d_prev)
                )
                if masked:
                    d_prev = tuple(d + hold_t * ds for d, ds in zip(d_prev, d_states))
                    d_y_carry = ops.zeros_like(d_y) if zero_output_for_mask else hold_t * d_y
                    return d_prev + (d_y_carry,), _grad_outputs(dxp_t, d_rec_t)
                return d_prev, _grad_outputs(dxp_t, d_rec_t)

            xs = (d_outputs,) + tuple(saved_stacks) + prev_needed + cur_needed
            if masked:
                xs = xs + (keep, hold)
            init = d_finals + ((ops.zeros_like(d_finals[0]),) if masked else ())
            carry, grads = scan(back, init, xs, unroll=unroll, reverse=True, differentiable=False)
            dxp, d_rec = grads if len(grads) == 2 else (grads[0], grads[0])
            h_prev = ops.reshape(prev_stacks[0], (-1, prev_stacks[0].shape[-1]))
            d_rec_2d = ops.reshape(d_rec, (-1, d_rec.shape[-1]))
            d_kernel = ops.matmul(ops.transpose(h_prev), d_rec_2d)
            d_weights = kernel.weight_grads(d_kernel, d_rec)
            assert len(d_weights) == n_weights
            return (dxp,) + tuple(carry[:n_states]) + tuple(d_weights)

        return (outputs,) + tuple(final_states), grad

    results = run(xp, *initial_states, *weights)
    return results[0], list(results[1:])


def _grad_outputs(dxp_t, d_rec_t):
    # LSTM and SimpleRNN return the same tensor twice: stack it once.
    return (dxp_t,) if d_rec_t is dxp_t else (dxp_t, d_rec_t)


def _zeros_if_none(d, like):
    return ops.zeros_like(like) if d is None else d
