package org.jtune.kernels;

import org.jtune.cuda.DeviceBuffer;

/** Argument checks shared by the kernel launchers: each failure names the kernel, the buffer and the sizes. */
final class Checks {
    private Checks() {}

    /** The buffer holds at least {@code bytes} bytes and starts on a {@code alignment}-byte boundary. */
    static void buffer(String kernel, String name, DeviceBuffer buffer, long bytes, int alignment) {
        if (buffer == null) {
            throw new IllegalArgumentException(kernel + ": buffer " + name + " is null");
        }
        if (buffer.bytes() < bytes) {
            throw new IllegalArgumentException(kernel + ": buffer " + name + " has " + buffer.bytes()
                    + " bytes, needs " + bytes);
        }
        if (buffer.address() % alignment != 0) {
            throw new IllegalArgumentException(kernel + ": buffer " + name + " at 0x"
                    + Long.toHexString(buffer.address()) + " is not " + alignment + "-byte aligned");
        }
    }

    static void positive(String kernel, String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(kernel + ": " + name + " must be positive, got " + value);
        }
    }

    static void multipleOf(String kernel, String name, long value, int factor) {
        if (value % factor != 0) {
            throw new IllegalArgumentException(kernel + ": " + name + " = " + value + " must be a multiple of "
                    + factor);
        }
    }

    /** {@code a * b} as a long, refusing products beyond what 32-bit kernel indices can address. */
    static long product(String kernel, String what, long a, long b, long limit) {
        long product = Math.multiplyExact(a, b);
        if (product > limit) {
            throw new IllegalArgumentException(kernel + ": " + what + " = " + a + " x " + b + " = " + product
                    + " exceeds the kernel's limit of " + limit);
        }
        return product;
    }
}
