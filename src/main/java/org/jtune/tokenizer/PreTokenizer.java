package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "pre_tokenizer" step of tokenizer.json: cuts normalized text into words that BPE encodes
 * one by one. Supported: Split with a regex and "Isolated" behavior, ByteLevel, and Sequences of them.
 */
final class PreTokenizer {
    /** The split regex of GPT-2, used by ByteLevel when "use_regex" is true. */
    private static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** No pre-tokenizer: the whole text is one word. */
    static final PreTokenizer NONE = new PreTokenizer(List.of(), false, false);

    private final List<Pattern> splits;
    /** Words are encoded as UTF-8 bytes shown in the byte-level alphabet. */
    final boolean byteLevel;
    /** ByteLevel's add_prefix_space: a space is put in front of text that does not start with one. */
    final boolean addPrefixSpace;

    private PreTokenizer(List<Pattern> splits, boolean byteLevel, boolean addPrefixSpace) {
        this.splits = splits;
        this.byteLevel = byteLevel;
        this.addPrefixSpace = addPrefixSpace;
    }

    /**
     * Translates a regex of the Hugging Face tokenizers library (Oniguruma syntax) to java.util.regex.
     * The constructs these files use mean the same in both once \s, \w, \d and case-insensitivity are
     * made Unicode-aware, as they are in Oniguruma.
     */
    static Pattern compileSplitRegex(String regex, String file) {
        if (regex.contains("\\h") || regex.contains("\\H")) {
            // \h is a hex digit in Oniguruma but horizontal space in Java.
            throw new TokenizerException(file + ": split regex uses \\h, which differs between Oniguruma and Java: " + regex);
        }
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new TokenizerException(file + ": split regex does not compile in Java: " + regex, e);
        }
    }

    static PreTokenizer fromJson(JsonNode node, String file) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        List<JsonNode> steps = new ArrayList<>();
        if ("Sequence".equals(Json.text(node, "type", file))) {
            Json.array(node, "pretokenizers", file).forEach(steps::add);
        } else {
            steps.add(node);
        }
        List<Pattern> splits = new ArrayList<>();
        boolean byteLevel = false;
        boolean addPrefixSpace = false;
        for (int i = 0; i < steps.size(); i++) {
            JsonNode step = steps.get(i);
            String type = Json.text(step, "type", file);
            if (byteLevel) {
                throw new TokenizerException(file + ": pre-tokenizer '" + type + "' after ByteLevel is not supported");
            }
            switch (type) {
                case "Split" -> {
                    String behavior = Json.text(step, "behavior", file);
                    if (!behavior.equals("Isolated") || Json.bool(step, "invert", false)) {
                        throw new TokenizerException(file + ": Split pre-tokenizer with behavior '" + behavior
                                + "' and invert=" + step.path("invert") + " is not supported (only Isolated, not inverted)");
                    }
                    JsonNode pattern = Json.field(step, "pattern", file);
                    if (pattern.has("Regex")) {
                        splits.add(compileSplitRegex(pattern.get("Regex").asText(), file));
                    } else {
                        splits.add(Pattern.compile(Pattern.quote(Json.literalPattern(step, file))));
                    }
                }
                case "ByteLevel" -> {
                    byteLevel = true;
                    addPrefixSpace = Json.bool(step, "add_prefix_space", false);
                    if (addPrefixSpace && i != 0) {
                        throw new TokenizerException(file + ": ByteLevel with add_prefix_space is supported only as the first pre-tokenizer");
                    }
                    if (Json.bool(step, "use_regex", true)) {
                        splits.add(compileSplitRegex(GPT2_PATTERN, file));
                    }
                }
                default -> throw new TokenizerException(file + ": pre-tokenizer type '" + type
                        + "' is not supported (supported: Split, ByteLevel, Sequence)");
            }
        }
        return new PreTokenizer(List.copyOf(splits), byteLevel, addPrefixSpace);
    }

    /** The split regexes in the order they apply (ByteLevel's own GPT-2 regex included when it splits). */
    List<String> splitRegexes() {
        return splits.stream().map(Pattern::pattern).toList();
    }

    /** Appends the words of {@code text} as [start, end) pairs to {@code out}. */
    void split(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        IntList current = new IntList(2);
        current.add(0);
        current.add(text.length());
        for (Pattern pattern : splits) {
            IntList next = new IntList(current.size() * 2);
            Matcher m = pattern.matcher(text);
            for (int i = 0; i < current.size(); i += 2) {
                isolate(m, current.get(i), current.get(i + 1), next);
            }
            current = next;
        }
        for (int i = 0; i < current.size(); i++) {
            out.add(current.get(i));
        }
    }

    /** "Isolated" split: every match is its own word, and so is every gap between matches. */
    private static void isolate(Matcher m, int start, int end, IntList out) {
        // Default (opaque, anchoring) bounds: each piece is matched as if it were a string of its own.
        m.region(start, end);
        int pos = start;
        while (m.find()) {
            if (m.start() == m.end()) {
                continue;
            }
            if (m.start() > pos) {
                out.add(pos);
                out.add(m.start());
            }
            out.add(m.start());
            out.add(m.end());
            pos = m.end();
        }
        if (pos < end) {
            out.add(pos);
            out.add(end);
        }
    }
}
