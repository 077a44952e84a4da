package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "pre_tokenizer" step of tokenizer.json: cuts normalized text into words that BPE encodes
 * one by one. Supported: Split (regex or literal, any behavior, inverted or not), ByteLevel, and
 * Sequences of them.
 */
final class PreTokenizer {
    /** The split regex of GPT-2, used by ByteLevel when "use_regex" is true. */
    private static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** No pre-tokenizer: the whole text is one word. */
    static final PreTokenizer NONE = new PreTokenizer(List.of(), false, false);

    /** What becomes of the pieces a Split pattern matches, as the tokenizers library's SplitDelimiterBehavior. */
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior of(String name, String file) {
            return switch (name) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw new TokenizerException(file + ": Split behavior '" + name + "' is unknown (known: "
                        + "Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
            };
        }
    }

    /** One Split step; ByteLevel's own regex is an Isolated, non-inverted one. */
    private record Split(Pattern pattern, Behavior behavior, boolean invert) {
    }

    private final List<Split> splits;
    /** Words are encoded as UTF-8 bytes shown in the byte-level alphabet. */
    final boolean byteLevel;
    /** ByteLevel's add_prefix_space: a space is put in front of text that does not start with one. */
    final boolean addPrefixSpace;

    private PreTokenizer(List<Split> splits, boolean byteLevel, boolean addPrefixSpace) {
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
        List<Split> splits = new ArrayList<>();
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
                    Behavior behavior = Behavior.of(Json.text(step, "behavior", file), file);
                    JsonNode pattern = Json.field(step, "pattern", file);
                    Pattern compiled = pattern.has("Regex") ? compileSplitRegex(pattern.get("Regex").asText(), file)
                            : Pattern.compile(Pattern.quote(Json.literalPattern(step, file)));
                    splits.add(new Split(compiled, behavior, Json.bool(step, "invert", false)));
                }
                case "ByteLevel" -> {
                    byteLevel = true;
                    addPrefixSpace = Json.bool(step, "add_prefix_space", false);
                    if (addPrefixSpace && i != 0) {
                        throw new TokenizerException(file + ": ByteLevel with add_prefix_space is supported only as the first pre-tokenizer");
                    }
                    if (Json.bool(step, "use_regex", true)) {
                        splits.add(new Split(compileSplitRegex(GPT2_PATTERN, file), Behavior.ISOLATED, false));
                    }
                }
                default -> throw new TokenizerException(file + ": pre-tokenizer type '" + type
                        + "' is not supported (supported: Split, ByteLevel, Sequence)");
            }
        }
        return new PreTokenizer(List.copyOf(splits), byteLevel, addPrefixSpace);
    }

    /**
     * Whether this pre-tokenizer only cuts where the literal {@code text} occurs (and is not byte-level): behind a
     * normalizer that leaves no such occurrence (Gemma's spaces, replaced by "\u2581"), it keeps the text whole.
     */
    boolean splitsOnlyAt(String text) {
        if (byteLevel) {
            return false;
        }
        String literal = Pattern.quote(text);
        return splits.stream().allMatch(split -> !split.invert() && split.pattern().pattern().equals(literal));
    }

    /**
     * The split regexes in the order they apply (ByteLevel's own GPT-2 regex included when it splits), all
     * Isolated and not inverted; a tokenizer splitting otherwise is refused here.
     */
    List<String> splitRegexes() {
        for (Split split : splits) {
            if (split.behavior() != Behavior.ISOLATED || split.invert()) {
                throw new TokenizerException("a Split pre-tokenizer with behavior " + split.behavior()
                        + (split.invert() ? ", inverted," : "") + " has no llama.cpp counterpart");
            }
        }
        return splits.stream().map(split -> split.pattern().pattern()).toList();
    }

    /** Appends the words of {@code text} as [start, end) pairs to {@code out}. */
    void split(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        IntList current = new IntList(2);
        current.add(0);
        current.add(text.length());
        IntList pieces = new IntList(16);
        for (Split split : splits) {
            IntList next = new IntList(current.size() * 2);
            Matcher m = split.pattern().matcher(text);
            for (int i = 0; i < current.size(); i += 2) {
                pieces.clear();
                matches(m, current.get(i), current.get(i + 1), split.invert(), pieces);
                apply(split.behavior(), pieces, next);
            }
            current = next;
        }
        for (int i = 0; i < current.size(); i++) {
            out.add(current.get(i));
        }
    }

    /**
     * Cuts [start, end) into matches and the gaps between them, appended as (start, end, isMatch)
     * triples; empty matches are skipped, and {@code invert} swaps which pieces count as matches.
     */
    private static void matches(Matcher m, int start, int end, boolean invert, IntList out) {
        // Default (opaque, anchoring) bounds: each piece is matched as if it were a string of its own.
        m.region(start, end);
        int pos = start;
        while (m.find()) {
            if (m.start() == m.end()) {
                continue;
            }
            if (m.start() > pos) {
                addPiece(out, pos, m.start(), invert);
            }
            addPiece(out, m.start(), m.end(), !invert);
            pos = m.end();
        }
        if (pos < end) {
            addPiece(out, pos, end, invert);
        }
    }

    private static void addPiece(IntList out, int start, int end, boolean isMatch) {
        out.add(start);
        out.add(end);
        out.add(isMatch ? 1 : 0);
    }

    /** Turns (start, end, isMatch) pieces into words, as the tokenizers library's NormalizedString.split. */
    private static void apply(Behavior behavior, IntList pieces, IntList out) {
        int n = pieces.size() / 3;
        switch (behavior) {
            case ISOLATED -> {
                for (int i = 0; i < n; i++) {
                    addWord(out, pieces.get(3 * i), pieces.get(3 * i + 1));
                }
            }
            case REMOVED -> {
                for (int i = 0; i < n; i++) {
                    if (pieces.get(3 * i + 2) == 0) {
                        addWord(out, pieces.get(3 * i), pieces.get(3 * i + 1));
                    }
                }
            }
            case CONTIGUOUS -> {
                // Runs of adjacent matches become one word.
                for (int i = 0; i < n; i++) {
                    boolean match = pieces.get(3 * i + 2) == 1;
                    if (match && i > 0 && pieces.get(3 * i - 1) == 1) {
                        out.set(out.size() - 1, pieces.get(3 * i + 1));
                    } else {
                        addWord(out, pieces.get(3 * i), pieces.get(3 * i + 1));
                    }
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                // A match joins the word before it, unless that word ends in a match.
                boolean previousMatch = false;
                for (int i = 0; i < n; i++) {
                    boolean match = pieces.get(3 * i + 2) == 1;
                    if (match && !previousMatch && i > 0) {
                        out.set(out.size() - 1, pieces.get(3 * i + 1));
                    } else {
                        addWord(out, pieces.get(3 * i), pieces.get(3 * i + 1));
                    }
                    previousMatch = match;
                }
            }
            case MERGED_WITH_NEXT -> {
                // A match joins the word after it, unless that word starts with a match.
                int from = out.size();
                boolean previousMatch = false;
                for (int i = n - 1; i >= 0; i--) {
                    boolean match = pieces.get(3 * i + 2) == 1;
                    if (match && !previousMatch && i < n - 1) {
                        out.set(out.size() - 2, pieces.get(3 * i));
                    } else {
                        addWord(out, pieces.get(3 * i), pieces.get(3 * i + 1));
                    }
                    previousMatch = match;
                }
                out.reversePairs(from);
            }
        }
    }

    private static void addWord(IntList out, int start, int end) {
        out.add(start);
        out.add(end);
    }
}
