package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.TokenizedChat;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;

/**
 * Turns one SFT record into token ids and loss targets.
 * <ul>
 * <li>text: BOS (from the tokenizer's post-processor) + text + EOS; every token is a target.</li>
 * <li>prompt/completion strings: BOS + prompt + completion + EOS; targets: the completion and EOS.</li>
 * <li>prompt/completion lists of messages: the chat template renders prompt (with generation prompt)
 *     and prompt+completion; targets: what follows the prompt. No EOS is added (the template ends turns).</li>
 * <li>messages (and ShareGPT's conversations): the chat template renders the conversation; targets: the assistant
 *     turns with their end-of-turn token.</li>
 * <li>alpaca: {@link AlpacaPrompt} as prompt, output as completion, then as prompt/completion strings.</li>
 * </ul>
 * With trainOnAllTokens every token is a target. The result is not truncated.
 */
final class SftEncoder {
    private final Tokenizer tokenizer;
    private final SftOptions options;
    private final int eos;
    private ChatTemplate template;

    SftEncoder(Tokenizer tokenizer, SftOptions options) {
        this.tokenizer = tokenizer;
        this.options = options;
        this.eos = SpecialTokens.of(tokenizer).eos();
        this.template = options.chatTemplate();
    }

    TokenizedExample encode(JsonRecord record, RecordFormat format) {
        TokenizedExample e = switch (format) {
            case TEXT -> allTargets(CompletionTokens.plain(tokenizer, eos, "", JsonText.string(record, "text", format, true)));
            case PROMPT_COMPLETION -> promptCompletion(record);
            case MESSAGES, SHAREGPT -> messages(record, format);
            case ALPACA -> CompletionTokens.plain(tokenizer, eos,
                    AlpacaPrompt.of(JsonText.string(record, "instruction", format, true), JsonText.optionalString(record, "input")),
                    JsonText.string(record, "output", format, true));
            case PREFERENCE -> throw new IllegalStateException("preference records are read by PreferenceDataset");
        };
        return options.trainOnAllTokens() ? allTargets(e) : e;
    }

    /** Every token a target, as for plain text (where even a lone leading-space token is learned). */
    private static TokenizedExample allTargets(TokenizedExample e) {
        Arrays.fill(e.trainable(), true);
        return e;
    }

    private TokenizedExample promptCompletion(JsonRecord record) {
        RecordFormat f = RecordFormat.PROMPT_COMPLETION;
        JsonNode prompt = JsonText.field(record, "prompt", f);
        JsonNode completion = JsonText.field(record, "completion", f);
        if (prompt.isArray() || completion.isArray()) {
            List<ChatMessage> p = JsonText.messages(record, prompt, "prompt");
            List<ChatMessage> c = JsonText.messages(record, completion, "completion");
            return Conversations.promptCompletion(tokenizer, template(record), record, p, c);
        }
        return CompletionTokens.plain(tokenizer, eos, JsonText.string(record, "prompt", f, false),
                JsonText.string(record, "completion", f, true));
    }

    private TokenizedExample messages(JsonRecord record, RecordFormat format) {
        String key = format.conversationKey();
        List<ChatMessage> messages = JsonText.messages(record, JsonText.field(record, key, format), key);
        if (!options.trainOnAllTokens() && messages.stream().noneMatch(m -> m.role().equals("assistant"))) {
            throw new BadRecordException(record.location(), "the conversation has no assistant turn, so nothing to train on");
        }
        TokenizedChat chat;
        try {
            chat = TokenizedChat.of(tokenizer, template(record).renderWithSpans(messages, false));
        } catch (TokenizerException e) {
            throw new BadRecordException(record.location(), e.getMessage());
        }
        return new TokenizedExample(chat.ids(), chat.assistant());
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

    static List<ChatMessage> concat(List<ChatMessage> a, List<ChatMessage> b) {
        List<ChatMessage> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
