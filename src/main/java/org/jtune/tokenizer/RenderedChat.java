package org.jtune.tokenizer;

import java.util.List;

/**
 * A conversation rendered by a chat template, with the character ranges [start, end) of the
 * assistant turns: from where the assistant's text begins to the end of its turn, end-of-turn
 * token included, so training can learn to stop.
 */
public record RenderedChat(String text, List<Span> assistantSpans) {
    public record Span(int start, int end) {
    }

    public RenderedChat {
        assistantSpans = List.copyOf(assistantSpans);
    }
}
