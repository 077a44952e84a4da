package org.jtune.kernels;

import org.jtune.cuda.Context;
import org.jtune.cuda.DeviceBuffer;
import org.jtune.cuda.Kernel;
import org.jtune.cuda.Stream;

/**
 * A gated MLP activation on bf16, h = act(gate) * up, and its in-place backward, with HF's roundings: SwiGLU of
 * Llama, Mistral and Qwen ({@code swiglu.ptx}, silu) or GeGLU of Gemma 3 ({@code geglu.ptx}, gelu_pytorch_tanh).
 */
public final class GatedActivationKernels {
    private final String name;
    private final Kernel forward;
    private final Kernel backward;

    private GatedActivationKernels(Context context, String name) {
        this.name = name;
        this.forward = context.module(name).kernel(name + "_forward_bf16");
        this.backward = context.module(name).kernel(name + "_backward_bf16");
    }

    /** silu(gate) * up. */
    public static GatedActivationKernels swiglu(Context context) {
        return new GatedActivationKernels(context, "swiglu");
    }

    /** gelu_tanh(gate) * up. */
    public static GatedActivationKernels geglu(Context context) {
        return new GatedActivationKernels(context, "geglu");
    }

    /** h = bf16(bf16(act(gate)) * up) over {@code n} elements; {@code h} may be {@code gate} or {@code up}. */
    public void forward(Stream stream, DeviceBuffer h, DeviceBuffer gate, DeviceBuffer up, long n) {
        String what = name + " forward";
        Checks.positive(what, "n", n);
        Checks.buffer(what, "h", h, 2 * n, 16);
        Checks.buffer(what, "gate", gate, 2 * n, 16);
        Checks.buffer(what, "up", up, 2 * n, 16);
        forward.launch(stream, Elementwise.shape(n), h, gate, up, n);
    }

    /** Overwrites {@code gate} with dL/dgate and {@code up} with dL/dup, given dL/dh. */
    public void backward(Stream stream, DeviceBuffer gate, DeviceBuffer up, DeviceBuffer dh, long n) {
        String what = name + " backward";
        Checks.positive(what, "n", n);
        Checks.buffer(what, "gate", gate, 2 * n, 16);
        Checks.buffer(what, "up", up, 2 * n, 16);
        Checks.buffer(what, "dh", dh, 2 * n, 16);
        backward.launch(stream, Elementwise.shape(n), gate, up, dh, n);
    }
}
