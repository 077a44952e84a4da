package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;

/**
 * Turns one prompt/chosen/rejected record into a {@link PreferencePair}. Strings: prompt + chosen and
 * prompt + rejected are each tokenized with the post-processor's tokens (BOS) and EOS appended, as TRL's
 * DPO does. Lists of messages: the chat template renders prompt (with generation prompt), prompt +
 * chosen and prompt + rejected; no EOS is added. Either way the completion's tokens are those with
 * characters from the completion (see {@link CompletionTokens}), and the prompt tokens of both sides
 * must agree.
 */
final class PreferenceEncoder {
    private final Tokenizer tokenizer;
    private final int eos;
    private ChatTemplate template;

    PreferenceEncoder(Tokenizer tokenizer, PreferenceOptions options) {
        this.tokenizer = tokenizer;
        this.eos = SpecialTokens.of(tokenizer).eos();
        this.template = options.chatTemplate();
    }

    PreferencePair encode(JsonRecord record) {
        RecordFormat f = RecordFormat.PREFERENCE;
        JsonNode prompt = JsonText.field(record, "prompt", f);
        JsonNode chosen = JsonText.field(record, "chosen", f);
        JsonNode rejected = JsonText.field(record, "rejected", f);
        TokenizedExample c;
        TokenizedExample r;
        if (prompt.isArray() && chosen.isArray() && rejected.isArray()) {
            List<ChatMessage> p = JsonText.messages(record, prompt, "prompt");
            ChatTemplate t = template(record);
            c = Conversations.promptCompletion(tokenizer, t, record, p, JsonText.messages(record, chosen, "chosen"));
            r = Conversations.promptCompletion(tokenizer, t, record, p, JsonText.messages(record, rejected, "rejected"));
        } else if (prompt.isArray() || chosen.isArray() || rejected.isArray()) {
            throw new BadRecordException(record.location(), "prompt, chosen and rejected must be all strings or all lists "
                    + "of messages, found " + JsonText.kind(prompt) + ", " + JsonText.kind(chosen) + ", " + JsonText.kind(rejected));
        } else {
            String p = JsonText.string(record, "prompt", f, false);
            c = CompletionTokens.plain(tokenizer, eos, p, JsonText.string(record, "chosen", f, true));
            r = CompletionTokens.plain(tokenizer, eos, p, JsonText.string(record, "rejected", f, true));
        }
        int cut = completionStart(c);
        if (cut != completionStart(r) || !Arrays.equals(c.ids(), 0, cut, r.ids(), 0, cut)) {
            throw new BadRecordException(record.location(), "the prompt's last tokens merge with the start of chosen and of "
                    + "rejected differently, so the two sides do not share the prompt's tokens; end the prompt with a space "
                    + "or newline, or start both completions with one");
        }
        return new PreferencePair(Arrays.copyOf(c.ids(), cut), Arrays.copyOfRange(c.ids(), cut, c.length()),
                Arrays.copyOfRange(r.ids(), cut, r.length()));
    }

    private static int completionStart(TokenizedExample e) {
        int k = 0;
        while (k < e.length() && !e.trainable()[k]) {
            k++;
        }
        return k;
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
