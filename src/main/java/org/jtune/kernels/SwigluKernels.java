package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.LaunchShape;
import org.jtune.cuda.Stream;

/** SwiGLU of the Llama/Mistral MLP, h = silu(gate) * up on bf16, and its in-place backward ({@code swiglu.ptx}). */
public final class SwigluKernels {
    private final Kernel forward;
    private final Kernel backward;

    public SwigluKernels(Context context) {
        this.forward = context.module("swiglu").kernel("swiglu_forward_bf16");
        this.backward = context.module("swiglu").kernel("swiglu_backward_bf16");
    }

    /** h = bf16(bf16(silu(gate)) * up) over {@code n} elements; {@code h} may be {@code gate} or {@code up}. */
    public void forward(Stream stream, DeviceBuffer h, DeviceBuffer gate, DeviceBuffer up, long n) {
        String name = "swiglu forward";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "h", h, 2 * n, 16);
        Checks.buffer(name, "gate", gate, 2 * n, 16);
        Checks.buffer(name, "up", up, 2 * n, 16);
        forward.launch(stream, Elementwise.shape(n), h, gate, up, n);
    }

    /** Overwrites {@code gate} with dL/dgate and {@code up} with dL/dup, given dL/dh. */
    public void backward(Stream stream, DeviceBuffer gate, DeviceBuffer up, DeviceBuffer dh, long n) {
        String name = "swiglu backward";
        Checks.positive(name, "n", n);
        Checks.buffer(name, "gate", gate, 2 * n, 16);
        Checks.buffer(name, "up", up, 2 * n, 16);
        Checks.buffer(name, "dh", dh, 2 * n, 16);
        backward.launch(stream, Elementwise.shape(n), gate, up, dh, n);
    }
}
