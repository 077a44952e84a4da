package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The shape of the records of a dataset, named by their keys. Detected from the first record
 * ({@link #detect}) or forced by an option; every record of the dataset must then have these keys
 * (other keys are ignored).
 */
public enum RecordFormat {
    /** {"text": str}: plain text, loss on every token. */
    TEXT("text", Set.of("text")),
    /** {"prompt": str, "completion": str}, or both lists of messages: loss on the completion. */
    PROMPT_COMPLETION("prompt/completion", Set.of("prompt", "completion")),
    /** {"messages": [{"role", "content"}, ...]}: rendered by a chat template, loss on assistant turns. */
    MESSAGES("messages", Set.of("messages")),
    /**
     * ShareGPT: {"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]}: as messages, with the roles
     * mapped (human and user to user; gpt, assistant, model to assistant; system).
     */
    SHAREGPT("sharegpt", Set.of("conversations")),
    /** {"instruction": str, "input": str (optional), "output": str}: rendered with the Alpaca prompt. */
    ALPACA("alpaca", Set.of("instruction", "output")),
    /** {"prompt", "chosen", "rejected"}: strings, or lists of messages; for preference training. */
    PREFERENCE("prompt/chosen/rejected", Set.of("prompt", "chosen", "rejected"));

    private final String label;
    private final Set<String> keys;

    RecordFormat(String label, Set<String> keys) {
        this.label = label;
        this.keys = keys;
    }

    /** The key that holds the conversation, for the two chat formats. */
    String conversationKey() {
        return this == SHAREGPT ? "conversations" : "messages";
    }

    /** The keys a record of this format must have. */
    public Set<String> requiredKeys() {
        return keys;
    }

    /** The format a record is written in; the most specific key set wins (prompt/chosen/rejected over prompt/completion). */
    public static RecordFormat detect(JsonRecord record) {
        JsonNode v = record.value();
        if (!v.isObject()) {
            throw new BadRecordException(record.location(), "a record must be a JSON object, found " + JsonText.kind(v));
        }
        for (RecordFormat f : List.of(PREFERENCE, MESSAGES, SHAREGPT, ALPACA, PROMPT_COMPLETION, TEXT)) {
            if (f.keys.stream().allMatch(v::has)) {
                return f;
            }
        }
        List<String> present = new ArrayList<>();
        v.fieldNames().forEachRemaining(present::add);
        throw new BadRecordException(record.location(), "cannot tell the dataset format from the keys " + present
                + "; expected one of: text | prompt, completion | messages | conversations | instruction, input, output"
                + " | prompt, chosen, rejected");
    }

    @Override
    public String toString() {
        return label;
    }
}
