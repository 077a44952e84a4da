package org.jtune.data;

/**
 * The Stanford Alpaca prompt, word for word as its training script writes it. With a non-empty input:
 * <pre>
 * Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.
 *
 * ### Instruction:
 * {instruction}
 *
 * ### Input:
 * {input}
 *
 * ### Response:
 * </pre>
 * and without one (input absent, null or ""):
 * <pre>
 * Below is an instruction that describes a task. Write a response that appropriately completes the request.
 *
 * ### Instruction:
 * {instruction}
 *
 * ### Response:
 * </pre>
 * The prompt ends right after "### Response:" (no newline); the output follows directly and is the
 * completion (followed by EOS), as in Alpaca's training.
 */
public final class AlpacaPrompt {
    static final String WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides "
            + "further context. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:";
    static final String WITHOUT_INPUT = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n%s\n\n### Response:";

    private AlpacaPrompt() {
    }

    /** The prompt for an instruction and an input ("" for none). */
    public static String of(String instruction, String input) {
        return input.isEmpty() ? WITHOUT_INPUT.formatted(instruction) : WITH_INPUT.formatted(instruction, input);
    }
}
