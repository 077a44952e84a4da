package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.jtune.io.StrictJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * A BPE tokenizer read from Hugging Face's tokenizer.json (SentencePiece-style as in Llama 2 and
 * Mistral, or byte-level as in Llama 3) that encodes and decodes exactly as the tokenizers library
 * does. Thread-safe: one instance can encode from many threads.
 */
public final class Tokenizer {
    private final String source;
    private final BpeModel model;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final AddedTokenSplitter addedTokenSplitter;
    private final Map<Integer, AddedToken> addedById = new HashMap<>();
    private final Map<String, AddedToken> addedByContent = new HashMap<>();
    private final Set<Integer> specialIds = new HashSet<>();
    private final TokenizerConfig config;

    private Tokenizer(JsonNode root, String source, TokenizerConfig config) {
        this.source = source;
        this.config = config;
        model = BpeModel.fromJson(Json.field(root, "model", source), source);
        normalizer = Normalizer.fromJson(root.get("normalizer"), source);
        preTokenizer = PreTokenizer.fromJson(root.get("pre_tokenizer"), source);
        postProcessor = PostProcessor.fromJson(root.get("post_processor"), source);
        decoder = Decoder.fromJson(root.get("decoder"), source);
        List<AddedToken> added = new ArrayList<>();
        JsonNode addedNode = root.get("added_tokens");
        if (addedNode != null && !addedNode.isNull()) {
            for (JsonNode t : addedNode) {
                int id = Json.id(t.get("id"), "the id of added token " + Json.abbreviate(t), source);
                if (addedById.containsKey(id)) {
                    throw new TokenizerException(source + ": added tokens '" + addedById.get(id).content() + "' and "
                            + Json.abbreviate(t.path("content")) + " have the same id " + id);
                }
                AddedToken token = new AddedToken(id, Json.text(t, "content", source),
                        Json.bool(t, "special", false), Json.bool(t, "lstrip", false),
                        Json.bool(t, "rstrip", false), Json.bool(t, "single_word", false));
                if (Json.bool(t, "normalized", false) && normalizer != null) {
                    throw new TokenizerException(source + ": added token '" + token.content()
                            + "' has normalized=true, which is not supported with a normalizer");
                }
                added.add(token);
                addedById.put(token.id(), token);
                addedByContent.put(token.content(), token);
                if (token.special()) {
                    specialIds.add(token.id());
                }
            }
        }
        addedTokenSplitter = new AddedTokenSplitter(added);
    }

    /** Reads tokenizer.json, and tokenizer_config.json and special_tokens_map.json where present, from a model directory. */
    public static Tokenizer fromDirectory(Path dir) {
        return fromFiles(dir.resolve("tokenizer.json"), dir.resolve("tokenizer_config.json"),
                dir.resolve("special_tokens_map.json"));
    }

    /** Reads the given files; the two configuration files may be null or absent. */
    public static Tokenizer fromFiles(Path tokenizerJson, Path tokenizerConfig, Path specialTokensMap) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new TokenizerException("tokenizer file not found: " + tokenizerJson);
        }
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            JsonNode root = StrictJson.MAPPER.readTree(in);
            return new Tokenizer(root, tokenizerJson.toString(), TokenizerConfig.read(tokenizerConfig, specialTokensMap));
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Builds a tokenizer from a parsed tokenizer.json; {@code source} names it in error messages. */
    public static Tokenizer fromJson(JsonNode tokenizerJson, String source, TokenizerConfig config) {
        return new Tokenizer(tokenizerJson, source, config);
    }

    public TokenizerConfig config() {
        return config;
    }

    /** Number of ids: the model vocabulary and the added tokens. */
    public int vocabSize() {
        int max = model.size() - 1;
        for (int id : addedById.keySet()) {
            max = Math.max(max, id);
        }
        return max + 1;
    }

    /** The id of a token string (added tokens first), or null when there is none. */
    public Integer tokenToId(String token) {
        AddedToken added = addedByContent.get(token);
        return added != null ? Integer.valueOf(added.id()) : model.id(token);
    }

    /** The token string of an id, or null when the id is unknown. */
    public String idToToken(int id) {
        AddedToken added = addedById.get(id);
        return added != null ? added.content() : model.token(id);
    }

    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** The id of a token named in the configuration (e.g. {@code config().eosToken()}), with a clear error when missing. */
    public int requireId(String token, String role) {
        Integer id = token == null ? null : tokenToId(token);
        if (id == null) {
            throw new TokenizerException(source + ": no " + role + " token '" + token + "' in the vocabulary");
        }
        return id;
    }

    /**
     * Refuses a lone UTF-16 surrogate (a JSON "\ud800" without its pair): it is no Unicode character,
     * Hugging Face's tokenizers cannot hold it either, and it has no UTF-8 bytes to encode.
     */
    static void requireValidUnicode(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new TokenizerException(String.format("the text holds a lone surrogate U+%04X at character %d, "
                        + "which is not a Unicode character (a broken \\u escape in the data?)", (int) c, i));
            }
        }
    }

    public int[] encodeIds(String text, boolean addSpecialTokens) {
        return encode(text, addSpecialTokens).ids();
    }

    /** Encodes one text; with {@code addSpecialTokens} the post-processor's tokens (e.g. BOS) are added. */
    public Encoding encode(String text, boolean addSpecialTokens) {
        requireValidUnicode(text);
        IntList ids = new IntList(text.length() / 3 + 4);
        IntList starts = new IntList(text.length() / 3 + 4);
        IntList ends = new IntList(text.length() / 3 + 4);
        if (addSpecialTokens) {
            for (int id : postProcessor.before()) {
                ids.add(id);
                starts.add(0);
                ends.add(0);
            }
        }
        IntList words = new IntList(16);
        for (AddedTokenSplitter.Segment segment : addedTokenSplitter.split(text)) {
            if (segment.token() != null) {
                ids.add(segment.token().id());
                starts.add(segment.start());
                ends.add(segment.end());
                continue;
            }
            NormalizedText normalized = NormalizedText.slice(text, segment.start(), segment.end());
            if (normalizer != null) {
                normalized = normalizer.apply(normalized);
            }
            if (preTokenizer.addPrefixSpace && !normalized.text.isEmpty() && normalized.text.charAt(0) != ' ') {
                normalized = normalized.prepend(" ");
            }
            words.clear();
            preTokenizer.split(normalized.text, words);
            if (!preTokenizer.byteLevel && model.metaspaceCutter().usable()) {
                // The same tokens as whole words, but short pieces can be cached.
                cutAtMetaspace(normalized.text, words);
            }
            for (int w = 0; w < words.size(); w += 2) {
                int wordStart = words.get(w);
                String word = normalized.text.substring(wordStart, words.get(w + 1));
                BpeModel.WordTokens tokens = model.encodeWord(word, preTokenizer.byteLevel);
                for (int t = 0; t < tokens.ids().length; t++) {
                    ids.add(tokens.ids()[t]);
                    starts.add(normalized.originalStart(wordStart + tokens.starts()[t]));
                    ends.add(normalized.originalEnd(wordStart + tokens.ends()[t] - 1));
                }
            }
        }
        if (addSpecialTokens) {
            for (int id : postProcessor.after()) {
                ids.add(id);
                starts.add(0);
                ends.add(0);
            }
        }
        return new Encoding(ids.toArray(), starts.toArray(), ends.toArray());
    }

    private void cutAtMetaspace(String text, IntList words) {
        IntList whole = new IntList(words.size());
        for (int i = 0; i < words.size(); i++) {
            whole.add(words.get(i));
        }
        words.clear();
        for (int i = 0; i < whole.size(); i += 2) {
            model.metaspaceCutter().cut(text, whole.get(i), whole.get(i + 1), words);
        }
    }

    /** Encodes many texts in parallel; the result is in the order of {@code texts}. */
    public List<Encoding> encodeBatch(List<String> texts, boolean addSpecialTokens) {
        Encoding[] out = new Encoding[texts.size()];
        IntStream.range(0, texts.size()).parallel().forEach(i -> out[i] = encode(texts.get(i), addSpecialTokens));
        return List.of(out);
    }

    /** Decodes ids to text as the tokenizers library does; special tokens are left out when asked. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (skipSpecialTokens && specialIds.contains(id)) {
                continue;
            }
            String token = idToToken(id);
            if (token == null) {
                throw new TokenizerException(source + ": cannot decode id " + id + ", vocabulary size is " + vocabSize());
            }
            tokens.add(token);
        }
        return String.join("", decoder.decode(tokens));
    }

    BpeModel model() {
        return model;
    }

    /** The normalizer, or null when there is none. */
    Normalizer normalizer() {
        return normalizer;
    }

    PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    PostProcessor postProcessor() {
        return postProcessor;
    }

    /** The added tokens, by id. */
    java.util.SortedMap<Integer, AddedToken> addedTokens() {
        return new java.util.TreeMap<>(addedById);
    }

    /** The file or name the tokenizer was read from, for messages. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "Tokenizer(" + source + ", " + vocabSize() + " tokens)";
    }
}
