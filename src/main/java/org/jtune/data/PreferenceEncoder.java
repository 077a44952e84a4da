package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;

/**
 * Turns one prompt/chosen/rejected record into a {@link PreferencePair} as TRL's DPOTrainer (1.x) tokenizes it:
 * the prompt is tokenized on its own, prompt + chosen and prompt + rejected as whole texts, and each completion
 * is what follows the prompt's length in its whole text; the model sees the prompt's own ids followed by them.
 * Strings are tokenized with the post-processor's tokens (BOS) and end with EOS (appended unless the completion
 * ends with it); lists of messages are rendered by the chat template (the prompt with the generation prompt) and
 * tokenized without added tokens. Where the end of the prompt merges with the start of a completion (no space or
 * newline between them), the whole text's first tokens differ from the prompt's: TRL trains on such pairs and only
 * warns, and so does this encoder, which counts them ({@link #promptMismatches()}).
 */
final class PreferenceEncoder {
    private final Tokenizer tokenizer;
    private final int eos;
    private ChatTemplate template;
    private long promptMismatches;

    PreferenceEncoder(Tokenizer tokenizer, PreferenceOptions options) {
        this.tokenizer = tokenizer;
        this.eos = SpecialTokens.of(tokenizer).eos();
        this.template = options.chatTemplate();
    }

    /** Pairs so far whose prompt + completion did not begin with the prompt's tokens. */
    long promptMismatches() {
        return promptMismatches;
    }

    PreferencePair encode(JsonRecord record) {
        RecordFormat f = RecordFormat.PREFERENCE;
        JsonNode prompt = JsonText.field(record, "prompt", f);
        JsonNode chosen = JsonText.field(record, "chosen", f);
        JsonNode rejected = JsonText.field(record, "rejected", f);
        int[] promptIds;
        int[] withChosen;
        int[] withRejected;
        if (prompt.isArray() && chosen.isArray() && rejected.isArray()) {
            List<ChatMessage> p = JsonText.messages(record, prompt, "prompt");
            List<ChatMessage> c = JsonText.messages(record, chosen, "chosen");
            List<ChatMessage> r = JsonText.messages(record, rejected, "rejected");
            ChatTemplate t = template(record);
            try {
                promptIds = tokenizer.encodeIds(t.render(p, true), false);
                withChosen = tokenizer.encodeIds(t.render(SftEncoder.concat(p, c), false), false);
                withRejected = tokenizer.encodeIds(t.render(SftEncoder.concat(p, r), false), false);
            } catch (TokenizerException e) {
                throw new BadRecordException(record.location(), e.getMessage());
            }
        } else if (prompt.isArray() || chosen.isArray() || rejected.isArray()) {
            throw new BadRecordException(record.location(), "prompt, chosen and rejected must be all strings or all lists "
                    + "of messages, found " + JsonText.kind(prompt) + ", " + JsonText.kind(chosen) + ", " + JsonText.kind(rejected));
        } else {
            String p = JsonText.string(record, "prompt", f, false);
            promptIds = tokenizer.encodeIds(p, true);
            withChosen = endWithEos(tokenizer.encodeIds(p + JsonText.string(record, "chosen", f, true), true));
            withRejected = endWithEos(tokenizer.encodeIds(p + JsonText.string(record, "rejected", f, true), true));
        }
        int n = promptIds.length;
        if (!Arrays.equals(promptIds, 0, n, withChosen, 0, Math.min(n, withChosen.length))
                || !Arrays.equals(promptIds, 0, n, withRejected, 0, Math.min(n, withRejected.length))) {
            promptMismatches++;
        }
        if (withChosen.length <= n || withRejected.length <= n) {
            throw new BadRecordException(record.location(), "the " + (withChosen.length <= n ? "chosen" : "rejected")
                    + " completion adds no token after the prompt's " + n);
        }
        return new PreferencePair(promptIds, Arrays.copyOfRange(withChosen, n, withChosen.length),
                Arrays.copyOfRange(withRejected, n, withRejected.length));
    }

    /** TRL appends the EOS token to a completion that does not end with it. */
    private int[] endWithEos(int[] ids) {
        if (ids.length > 0 && ids[ids.length - 1] == eos) {
            return ids;
        }
        int[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = eos;
        return out;
    }

    private ChatTemplate template(JsonRecord record) {
        if (template == null) {
            try {
                template = ChatTemplate.of(tokenizer, null);
            } catch (TokenizerException e) {
                throw new DatasetException(record.location() + ": message lists need a chat template: " + e.getMessage()
                        + "; name one in the options (e.g. a BuiltinChatTemplate)", e);
            }
        }
        return template;
    }
}
