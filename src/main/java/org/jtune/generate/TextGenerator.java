package org.jtune.generate;

import java.util.function.Consumer;

/** What serves generation requests: queues a prompt, follows its text, and says how long a sequence may grow. */
public interface TextGenerator {
    /**
     * Queues a prompt and returns at once: the caller follows the text through {@code onText} and may cancel.
     *
     * @throws IllegalArgumentException when the prompt or the config cannot be run
     */
    Generation submit(int[] promptIds, GenerationConfig config, Consumer<String> onText);

    /** Prompt and answer tokens together may not pass this. */
    int contextLength();
}
