package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Chat templates: the real shipped and built-in ones, assistant spans and masks, errors. */
class ChatTemplateTest {
    private static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("Be brief."),
            ChatMessage.user("What is 2+2?"),
            ChatMessage.assistant(" Four. "),
            ChatMessage.user("And 3+3?"),
            ChatMessage.assistant("Six."));

    @Test
    void llama3ShippedTemplateRendersTheDocumentedFormat() {
        ChatTemplate t = ChatTemplate.of(TestTokenizers.llama3(), null);
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, t.render(CONVERSATION.subList(0, 2), true));
    }

    @Test
    void assistantSpansCoverExactlyTheAssistantTurns() {
        for (String name : List.of("shipped", "chatml")) {
            Tokenizer tok = TestTokenizers.llama3();
            RenderedChat chat = GoldenFiles.template(tok, name).renderWithSpans(CONVERSATION, false);
            assertEquals(2, chat.assistantSpans().size(), name);
            List<String> turns = chat.assistantSpans().stream().map(s -> chat.text().substring(s.start(), s.end())).toList();
            if (name.equals("shipped")) {
                // Llama 3 trims message content; the turn ends with its end-of-turn token.
                assertEquals(List.of("Four.<|eot_id|>", "Six.<|eot_id|>"), turns);
            } else {
                assertEquals(List.of(" Four. <|im_end|>\n", "Six.<|im_end|>\n"), turns);
            }
        }
        RenderedChat mistral = ChatTemplate.of(BuiltinChatTemplate.MISTRAL, TestTokenizers.mistral().config())
                .renderWithSpans(CONVERSATION, false);
        assertEquals(List.of("  Four. </s>", " Six.</s>"), mistral.assistantSpans().stream()
                .map(s -> mistral.text().substring(s.start(), s.end())).toList());
    }

    @Test
    void tokenMaskSelectsTheAssistantTokensOnly() {
        Tokenizer tok = TestTokenizers.llama3();
        RenderedChat chat = ChatTemplate.of(tok, null).renderWithSpans(CONVERSATION, false);
        TokenizedChat tokens = TokenizedChat.of(tok, chat);
        StringBuilder masked = new StringBuilder();
        StringBuilder unmasked = new StringBuilder();
        for (int i = 0; i < tokens.ids().length; i++) {
            String piece = tok.decode(new int[] {tokens.ids()[i]}, false);
            (tokens.assistant()[i] ? masked : unmasked).append(piece);
        }
        assertEquals("Four.<|eot_id|>Six.<|eot_id|>", masked.toString());
        assertTrue(unmasked.toString().contains("What is 2+2?"));
        assertFalse(unmasked.toString().contains("Four"));
        assertEquals(tok.encodeIds(chat.text(), false).length, tokens.ids().length);
    }

    @Test
    void raiseExceptionBecomesAnError() {
        ChatTemplate llama2 = ChatTemplate.of(BuiltinChatTemplate.LLAMA2, TestTokenizers.mistral().config());
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> llama2.render(List.of(ChatMessage.assistant("first"), ChatMessage.user("second")), false));
        assertTrue(e.getMessage().contains("Conversation roles must alternate"), e.getMessage());
        ChatTemplate mistral = ChatTemplate.of(BuiltinChatTemplate.MISTRAL, TestTokenizers.mistral().config());
        e = assertThrows(TokenizerException.class,
                () -> mistral.render(List.of(ChatMessage.user("a"), new ChatMessage("tool", "b")), false));
        assertTrue(e.getMessage().contains("Only user and assistant roles are supported"), e.getMessage());
    }

    @Test
    void malformedTemplateIsAnError() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> new ChatTemplate("{% for m in messages %}{{ m.content }}", Map.of()));
        assertTrue(e.getMessage().contains("chat template error"), e.getMessage());
    }

    @Test
    void llama2TemplateUsesSystemBlockAndBosPerTurn() {
        ChatTemplate t = ChatTemplate.of(BuiltinChatTemplate.LLAMA2, TestTokenizers.llama2().config());
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWhat is 2+2? [/INST] Four. </s><s>[INST] And 3+3? [/INST] Six. </s>",
                t.render(CONVERSATION, false));
    }

    @Test
    void qwen3SpansCoverTheAnswerOfOneTurnAndMultiTurnSpansAreRefused() {
        Tokenizer tok = TestTokenizers.qwen3();
        ChatTemplate t = ChatTemplate.of(tok, null);
        RenderedChat one = t.renderWithSpans(List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("4")), false,
                ChatOptions.NONE.withVariable("enable_thinking", false));
        // With thinking off the generation prompt holds the empty thinking block: the span is the answer alone.
        assertEquals(List.of("4<|im_end|>\n"), one.assistantSpans().stream()
                .map(s -> one.text().substring(s.start(), s.end())).toList());
        // Earlier turns lose their (empty) thinking once a later user turn follows: no prefix to locate them by.
        TokenizerException e = assertThrows(TokenizerException.class, () -> t.renderWithSpans(CONVERSATION, false));
        assertTrue(e.getMessage().contains("cannot be located"), e.getMessage());
    }

    @Test
    void badToolCallsAndVariablesAreClearErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChatOptions.NONE.withVariable("messages", List.of()));
        assertTrue(e.getMessage().contains("'messages'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ChatOptions.NONE.withVariable("when", new Object()));
        assertTrue(e.getMessage().contains("'when'") && e.getMessage().contains("Object"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ToolCall("f", List.of(1)));
        assertTrue(e.getMessage().contains("'f'") && e.getMessage().contains("JSON object or a string"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new ChatMessage("user", "hi", List.of(new ToolCall("f", "{}"))));
        assertTrue(e.getMessage().contains("'user'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ChatOptions.NONE.withTools(Map.of("name", "f")));
        assertTrue(e.getMessage().contains("list of tool definitions"), e.getMessage());
    }
}
