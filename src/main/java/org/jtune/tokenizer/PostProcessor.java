package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The "post_processor" of tokenizer.json for single texts: the special tokens (BOS, EOS) put around
 * the encoded text when special tokens are asked for. Supported: TemplateProcessing, ByteLevel
 * without offset trimming, and Sequences of them.
 */
final class PostProcessor {
    static final PostProcessor NONE = new PostProcessor(List.of(), List.of());

    /** Ids put before the text, and after it. */
    private final List<Integer> before;
    private final List<Integer> after;

    private PostProcessor(List<Integer> before, List<Integer> after) {
        this.before = before;
        this.after = after;
    }

    static PostProcessor fromJson(JsonNode node, String file) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = Json.text(node, "type", file);
        switch (type) {
            case "Sequence" -> {
                PostProcessor result = NONE;
                for (JsonNode step : Json.array(node, "processors", file)) {
                    PostProcessor p = fromJson(step, file);
                    if (!p.before.isEmpty() || !p.after.isEmpty()) {
                        if (result != NONE) {
                            throw new TokenizerException(file + ": more than one TemplateProcessing in a post-processor Sequence");
                        }
                        result = p;
                    }
                }
                return result;
            }
            case "ByteLevel" -> {
                if (Json.bool(node, "trim_offsets", true)) {
                    throw new TokenizerException(file + ": ByteLevel post-processor with trim_offsets=true is not supported");
                }
                // Without offset trimming this processor changes nothing.
                return NONE;
            }
            case "TemplateProcessing" -> {
                return template(node, file);
            }
            default -> throw new TokenizerException(file + ": post-processor type '" + type
                    + "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
        }
    }

    private static PostProcessor template(JsonNode node, String file) {
        JsonNode special = Json.field(node, "special_tokens", file);
        List<Integer> before = new ArrayList<>();
        List<Integer> after = new ArrayList<>();
        boolean seenSequence = false;
        for (JsonNode piece : Json.array(node, "single", file)) {
            if (piece.has("Sequence")) {
                String seq = piece.get("Sequence").path("id").asText();
                if (!seq.equals("A") || seenSequence) {
                    throw new TokenizerException(file + ": single template must contain sequence A once, found " + node.get("single"));
                }
                seenSequence = true;
            } else if (piece.has("SpecialToken")) {
                String name = Json.text(piece.get("SpecialToken"), "id", file);
                JsonNode entry = special.get(name);
                if (entry == null) {
                    throw new TokenizerException(file + ": template uses special token '" + name + "' missing from special_tokens");
                }
                for (JsonNode id : Json.array(entry, "ids", file)) {
                    (seenSequence ? after : before).add(id.asInt());
                }
            } else {
                throw new TokenizerException(file + ": unknown template piece " + piece);
            }
        }
        if (!seenSequence) {
            throw new TokenizerException(file + ": single template has no sequence A: " + node.get("single"));
        }
        return new PostProcessor(List.copyOf(before), List.copyOf(after));
    }

    List<Integer> before() {
        return before;
    }

    List<Integer> after() {
        return after;
    }
}
