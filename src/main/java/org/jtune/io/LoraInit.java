package org.jtune.io;

/** PEFT's {@code init_lora_weights} values that keep plain LoRA math (others change the base weights). */
public enum LoraInit {
    /** {@code true}: A kaiming-uniform (bound 1/sqrt(in)), B zero. */
    DEFAULT,
    /** {@code "gaussian"}: A normal with std 1/r, B zero. */
    GAUSSIAN,
    /** {@code false}: A and B both keep a random linear-layer init (for tests). */
    SKIPPED
}
