package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.Stream;

/**
 * GeGLU of the Gemma 3 MLP, h = gelu_tanh(gate) * up on bf16, and its in-place backward ({@code geglu.ptx}), with
 * the roundings of HF's gelu_pytorch_tanh activation.
 */
public final class GegluKernels {
    private final Kernel forward;
    private final Kernel backward;

    public GegluKernels(Context context) {
        this.forward = context.module("geglu").kernel("geglu_forward_bf16");
        this.backward = context.module("geglu").kernel("geglu_backward_bf16");
    }

    /** h = bf16(bf16(gelu_tanh(gate)) * up) over {@code n} elements; {@code h} may be {@code gate} or {@code up}. */
    public void forward(Stream stream, DeviceBuffer h, DeviceBuffer gate, DeviceBuffer up, long n) {
        String name = "geglu forward";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "h", h, 2 * n, 16);
        Checks.buffer(name, "gate", gate, 2 * n, 16);
        Checks.buffer(name, "up", up, 2 * n, 16);
        forward.launch(stream, Elementwise.shape(n), h, gate, up, n);
    }

    /** Overwrites {@code gate} with dL/dgate and {@code up} with dL/dup, given dL/dh. */
    public void backward(Stream stream, DeviceBuffer gate, DeviceBuffer up, DeviceBuffer dh, long n) {
        String name = "geglu backward";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "gate", gate, 2 * n, 16);
        Checks.buffer(name, "up", up, 2 * n, 16);
        Checks.buffer(name, "dh", dh, 2 * n, 16);
        backward.launch(stream, Elementwise.shape(n), gate, up, dh, n);
    }
}
