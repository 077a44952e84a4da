package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The "decoder" of tokenizer.json: turns token strings back into text. Each step maps the list of
 * token strings to a new list; the result is their concatenation.
 */
sealed interface Decoder {
    List<String> decode(List<String> tokens);

    /** Replaces a literal string in every token (SentencePiece's "▁" back to a space). */
    record Replace(String pattern, String content) implements Decoder {
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                out.add(t.replace(pattern, content));
            }
            return out;
        }
    }

    /**
     * Joins runs of byte tokens "&lt;0xXX&gt;" into the text they spell; a run that is not valid
     * UTF-8 becomes one U+FFFD per byte.
     */
    record ByteFallback() implements Decoder {
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteOf(t);
                if (b >= 0) {
                    run.write(b);
                    continue;
                }
                flush(run, out);
                out.add(t);
            }
            flush(run, out);
            return out;
        }

        private static int byteOf(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
                return -1;
            }
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }

        private static void flush(ByteArrayOutputStream run, List<String> out) {
            if (run.size() == 0) {
                return;
            }
            byte[] bytes = run.toByteArray();
            run.reset();
            try {
                out.add(StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < bytes.length; i++) {
                    out.add("\uFFFD");
                }
            }
        }
    }

    /** Concatenates all tokens into one. */
    record Fuse() implements Decoder {
        public List<String> decode(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing copies of a character from each token. */
    record Strip(String content, int start, int stop) implements Decoder {
        public List<String> decode(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int c = content.codePointAt(0);
                int from = 0;
                while (from < start && from < cps.length && cps[from] == c) {
                    from++;
                }
                int to = cps.length;
                while (cps.length - to < stop && to > from && cps[to - 1] == c) {
                    to--;
                }
                out.add(new String(cps, from, to - from));
            }
            return out;
        }
    }

    /** Maps byte-level characters back to bytes and reads them as UTF-8 (invalid sequences become U+FFFD). */
    record ByteLevel() implements Decoder {
        public List<String> decode(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                byte[] mapped = new byte[t.length()];
                boolean all = true;
                for (int i = 0; i < t.length() && all; i++) {
                    int b = ByteLevelAlphabet.byteOf(t.charAt(i));
                    all = b >= 0;
                    mapped[i] = (byte) b;
                }
                // A token with a character outside the alphabet is taken as plain text.
                bytes.writeBytes(all ? mapped : t.getBytes(StandardCharsets.UTF_8));
            }
            return List.of(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        public List<String> decode(List<String> tokens) {
            for (Decoder d : steps) {
                tokens = d.decode(tokens);
            }
            return tokens;
        }
    }

    /** Reads a decoder node; null means tokens are simply concatenated. */
    static Decoder fromJson(JsonNode node, String file) {
        if (node == null || node.isNull()) {
            return new Fuse();
        }
        String type = Json.text(node, "type", file);
        return switch (type) {
            case "Replace" -> new Replace(Json.literalPattern(node, file), Json.text(node, "content", file));
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> {
                String content = Json.text(node, "content", file);
                if (content.codePointCount(0, content.length()) != 1) {
                    throw new TokenizerException(file + ": Strip decoder content must be one character, found '" + content + "'");
                }
                yield new Strip(content, node.path("start").asInt(0), node.path("stop").asInt(0));
            }
            case "ByteLevel" -> new ByteLevel();
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                for (JsonNode child : Json.array(node, "decoders", file)) {
                    steps.add(fromJson(child, file));
                }
                yield new Sequence(steps);
            }
            default -> throw new TokenizerException(file + ": decoder type '" + type
                    + "' is not supported (supported: Replace, ByteFallback, Fuse, Strip, ByteLevel, Sequence)");
        };
    }
}
