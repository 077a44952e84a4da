package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The "normalizer" step of tokenizer.json: rewrites text before it is split and tokenized. */
sealed interface Normalizer {
    NormalizedText apply(NormalizedText text);

    /** Puts a fixed string in front of every non-empty text (SentencePiece's leading "▁"). */
    record Prepend(String prefix) implements Normalizer {
        public NormalizedText apply(NormalizedText text) {
            return text.prepend(prefix);
        }
    }

    /** Replaces every occurrence of a literal string. */
    record Replace(String pattern, String content) implements Normalizer {
        public NormalizedText apply(NormalizedText text) {
            return text.replace(pattern, content);
        }
    }

    /** Unicode canonical composition (Qwen). */
    record Nfc() implements Normalizer {
        public NormalizedText apply(NormalizedText text) {
            return text.nfc();
        }
    }

    record Sequence(List<Normalizer> steps) implements Normalizer {
        public NormalizedText apply(NormalizedText text) {
            for (Normalizer step : steps) {
                text = step.apply(text);
            }
            return text;
        }
    }

    /** Reads a normalizer node; null or JSON null means "no normalizer". */
    static Normalizer fromJson(JsonNode node, String file) {
        if (node == null || node.isNull()) {
            return null;
        }
        String type = Json.text(node, "type", file);
        return switch (type) {
            case "NFC" -> new Nfc();
            case "Prepend" -> new Prepend(Json.text(node, "prepend", file));
            case "Replace" -> new Replace(Json.literalPattern(node, file), Json.text(node, "content", file));
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                for (JsonNode child : Json.array(node, "normalizers", file)) {
                    steps.add(fromJson(child, file));
                }
                yield new Sequence(steps);
            }
            default -> throw new TokenizerException(file + ": normalizer type '" + type
                    + "' is not supported (supported: NFC, Prepend, Replace, Sequence)");
        };
    }
}
