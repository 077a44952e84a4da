package org.jtune.export;

import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Modelfiles for the built-in chat templates, against Ollama templates written out by hand for these formats. */
class OllamaModelfileTest {
    private static ChatTemplate template(BuiltinChatTemplate t, String bos, String eos) {
        return new ChatTemplate(t.source(), Map.of("bos_token", bos, "eos_token", eos));
    }

    @Test
    void llama3() {
        String m = OllamaModelfile.of("model.gguf", template(BuiltinChatTemplate.LLAMA3, "<|begin_of_text|>",
                "<|eot_id|>"), "<|begin_of_text|>", true, "<|eot_id|>",
                Set.of("<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"));
        assertTrue(m.startsWith("""
                # Ollama: ollama create NAME -f Modelfile
                FROM ./model.gguf
                TEMPLATE \"""{{ range .Messages }}{{ if eq .Role "system" }}<|start_header_id|>system<|end_header_id|>

                {{ .Content }}<|eot_id|>{{ else if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

                {{ .Content }}<|eot_id|>{{ else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

                {{ .Content }}<|eot_id|>{{ end }}{{ end }}<|start_header_id|>assistant<|end_header_id|>

                \"""
                """), m);
        // Ollama's own llama3 Modelfile stops on the same three
        assertEquals(Set.of("PARAMETER stop \"<|eot_id|>\"", "PARAMETER stop \"<|start_header_id|>\"",
                "PARAMETER stop \"<|end_header_id|>\""), Set.copyOf(m.lines().filter(l -> l.startsWith("PARAMETER")).toList()));
    }

    @Test
    void chatml() {
        String m = OllamaModelfile.of("x.gguf", template(BuiltinChatTemplate.CHATML, "<s>", "<|im_end|>"), "<s>",
                false, "<|im_end|>", Set.of("<|im_start|>", "<|im_end|>"));
        assertTrue(m.contains("TEMPLATE \"\"\"{{ range .Messages }}{{ if eq .Role \"system\" }}<|im_start|>system\n"
                + "{{ .Content }}<|im_end|>\n{{ else if eq .Role \"user\" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n"
                + "{{ else if eq .Role \"assistant\" }}<|im_start|>assistant\n{{ .Content }}<|im_end|>\n{{ end }}{{ end }}"
                + "<|im_start|>assistant\n\"\"\"\n"), m);
        assertTrue(m.contains("PARAMETER stop \"<|im_end|>\"\n") && m.contains("PARAMETER stop \"<|im_start|>\"\n"), m);
    }

    @Test
    void mistralHasNoSystemTurn() {
        String m = OllamaModelfile.of("x.gguf", template(BuiltinChatTemplate.MISTRAL, "<s>", "</s>"), "<s>", true,
                "</s>", Set.of("<s>", "</s>", "<unk>"));
        assertTrue(m.contains("# system messages are left out"), m);
        assertTrue(m.contains("TEMPLATE \"\"\"{{ range .Messages }}{{ if eq .Role \"user\" }} [INST] {{ .Content }} [/INST]"
                + "{{ else if eq .Role \"assistant\" }} {{ .Content }}</s>{{ end }}{{ end }}\"\"\"\n"), m);
        assertTrue(m.contains("PARAMETER stop \"</s>\"\n"), m);
    }

    @Test
    void llama2OpensLaterUserTurnsWithBos() {
        String m = OllamaModelfile.of("x.gguf", template(BuiltinChatTemplate.LLAMA2, "<s>", "</s>"), "<s>", true,
                "</s>", Set.of("<s>", "</s>"));
        assertTrue(m.contains("TEMPLATE \"\"\"{{ range $i, $_ := .Messages }}{{ if eq .Role \"user\" }}{{ if $i }}<s>"
                + "{{ end }}[INST] {{ .Content }} [/INST]{{ else if eq .Role \"assistant\" }} {{ .Content }} </s>"
                + "{{ end }}{{ end }}\"\"\""), m);
    }

    @Test
    void noTemplate() {
        String m = OllamaModelfile.of("x.gguf", null, "<s>", true, "</s>", Set.of());
        assertTrue(m.contains("# the model has no chat template") && !m.contains("TEMPLATE"), m);
        assertTrue(m.endsWith("PARAMETER stop \"</s>\"\n"), m);
    }
}
