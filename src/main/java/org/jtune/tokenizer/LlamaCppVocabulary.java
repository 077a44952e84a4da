package org.jtune.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A tokenizer as llama.cpp's vocabulary holds it, laid out as llama.cpp's converter writes it into a GGUF file:
 * SentencePiece-style tokenizers (Llama 2, Mistral, Gemma 3: metaspace, byte fallback) as model {@code llama} with
 * merge priorities as token scores; byte-level BPE (Llama 3, Qwen, GPT-2 style) as model {@code gpt2} with merges
 * and the name of llama.cpp's matching pre-tokenizer. Tokenizers llama.cpp would split or normalize differently are
 * refused with the reason, so that a written vocabulary tokenizes as this one does; the one difference let through
 * (Qwen's NFC normalizer, which llama.cpp does not apply, as its converter does not) is said in {@link #notes}.
 *
 * @param model       {@code llama} or {@code gpt2}
 * @param pre         llama.cpp's pre-tokenizer name ({@code gpt2} only), else null
 * @param tokens      one string per id, {@code vocabSize} of them ({@code [PADn]} for ids the tokenizer lacks)
 * @param scores      per token ({@code llama} only), else null
 * @param types       llama.cpp token types per token ({@link #NORMAL}, ...)
 * @param merges      {@code "left right"} by rank ({@code gpt2} only), else empty
 * @param bosId       -1 when none (likewise the other ids)
 * @param addSpacePrefix {@code llama} only: a space is put in front of the text (SentencePiece's dummy prefix)
 * @param chatTemplate null when the tokenizer has none
 * @param notes        where llama.cpp will tokenize otherwise, or what was left out; empty when nothing
 */
public record LlamaCppVocabulary(String model, String pre, List<String> tokens, float[] scores, int[] types,
                                 List<String> merges, int bosId, int eosId, int unkId, int padId,
                                 boolean addBos, boolean addEos, boolean addSpacePrefix, String chatTemplate,
                                 List<String> notes) {
    /** llama.cpp's token types. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    /** Pre-tokenizer regexes llama.cpp implements, by the name it knows them under. */
    private static final Map<String, List<String>> PRE_TOKENIZERS = Map.of(
            "gpt-2", List.of("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
            "llama-bpe", List.of("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}"
                    + "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
            // Qwen2, Qwen2.5, Qwen3: Llama 3's with single digits
            "qwen2", List.of("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}"
                    + "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"));
    /** llama.cpp's pre-tokenizers that skip merges for words that are whole tokens. */
    private static final List<String> IGNORING_MERGES = List.of("llama-bpe");
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    private static final String METASPACE = "\u2581";

    /**
     * The vocabulary of {@code tokenizer} for a model with {@code vocabSize} embedding rows.
     *
     * @param configBosId the model config's bos_token_id (-1: none), used when the tokenizer config names none
     * @param configEosIds the model config's eos_token_id(s), used when the tokenizer config names none and there is one
     * @throws TokenizerException when llama.cpp cannot tokenize as this tokenizer does, with the reason
     */
    public static LlamaCppVocabulary of(Tokenizer tokenizer, int vocabSize, int configBosId, List<Integer> configEosIds) {
        List<String> notes = new ArrayList<>();
        if (tokenizer.vocabSize() > vocabSize) {
            // Added tokens past the embedding rows (Gemma 3 1B's <image_soft_token>) are left out, as the converter
            // leaves them out; tokens of the model's own vocabulary there mean the tokenizer is not the model's.
            if (tokenizer.model().size() > vocabSize) {
                throw new TokenizerException(tokenizer + ": the tokenizer has " + tokenizer.vocabSize()
                        + " tokens but the model only " + vocabSize + " embedding rows");
            }
            List<String> dropped = new ArrayList<>();
            for (int id = vocabSize; id < tokenizer.vocabSize(); id++) {
                if (tokenizer.addedTokens().containsKey(id)) {
                    dropped.add(id + " " + tokenizer.idToToken(id));
                }
            }
            notes.add("added token(s) " + String.join(", ", dropped) + " lie past the model's " + vocabSize
                    + " embedding rows and are left out of the file (as llama.cpp's converter does)");
        }
        TokenizerConfig config = tokenizer.config();
        int bos = idOf(tokenizer, config.bosToken(), configBosId);
        int eos = idOf(tokenizer, config.eosToken(), configEosIds.size() == 1 ? configEosIds.get(0) : -1);
        int unk = idOf(tokenizer, config.unkToken(), -1);
        int pad = idOf(tokenizer, config.padToken(), -1);
        boolean addBos = addsOnly(tokenizer, tokenizer.postProcessor().before(), bos, "BOS", "before");
        boolean addEos = addsOnly(tokenizer, tokenizer.postProcessor().after(), eos, "EOS", "after");
        if (tokenizer.preTokenizer().byteLevel) {
            return byteLevel(tokenizer, vocabSize, bos, eos, unk, pad, addBos, addEos, notes);
        }
        return sentencePiece(tokenizer, vocabSize, bos, eos, unk, pad, addBos, addEos, notes);
    }

    private static int idOf(Tokenizer tokenizer, String token, int fallback) {
        if (token != null) {
            Integer id = tokenizer.tokenToId(token);
            if (id != null) {
                return id;
            }
        }
        return fallback;
    }

    /** Whether the post-processor adds {@code id} (and nothing else) on that side; refuses other tokens. */
    private static boolean addsOnly(Tokenizer tokenizer, List<Integer> added, int id, String role, String side) {
        if (added.isEmpty()) {
            return false;
        }
        if (added.size() == 1 && added.get(0) == id) {
            return true;
        }
        throw new TokenizerException(tokenizer + ": its post-processor puts token(s) " + added + " " + side
                + " the text; llama.cpp can only add the " + role + " token" + (id >= 0 ? " (" + id + ")" : ""));
    }

    private static LlamaCppVocabulary byteLevel(Tokenizer tokenizer, int vocabSize, int bos, int eos, int unk, int pad,
                                                boolean addBos, boolean addEos, List<String> notes) {
        if (tokenizer.normalizer() instanceof Normalizer.Nfc) {
            // Qwen's: llama.cpp's BPE vocabularies do not normalize, and its converter writes Qwen's all the same
            notes.add("the tokenizer puts text into Unicode NFC first and llama.cpp does not: text that is not in NFC "
                    + "(decomposed accents, some scripts) tokenizes differently in llama.cpp");
        } else if (tokenizer.normalizer() != null) {
            throw new TokenizerException(tokenizer + ": a byte-level tokenizer with a normalizer has no llama.cpp "
                    + "counterpart (llama.cpp's BPE vocabularies do not normalize)");
        }
        if (tokenizer.preTokenizer().addPrefixSpace) {
            throw new TokenizerException(tokenizer + ": ByteLevel add_prefix_space has no llama.cpp counterpart");
        }
        List<String> regexes = tokenizer.preTokenizer().splitRegexes();
        String pre = PRE_TOKENIZERS.entrySet().stream().filter(e -> e.getValue().equals(regexes))
                .map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new TokenizerException(tokenizer + ": its pre-tokenizer splits with " + regexes
                        + ", which matches none of the llama.cpp pre-tokenizers written here (GPT-2's and Llama 3's)"));
        boolean ignoresMerges = IGNORING_MERGES.contains(pre);
        if (tokenizer.model().ignoreMerges() != ignoresMerges) {
            throw new TokenizerException(tokenizer + ": ignore_merges is " + tokenizer.model().ignoreMerges()
                    + " but llama.cpp's '" + pre + "' pre-tokenizer " + (ignoresMerges ? "ignores" : "applies")
                    + " merges for words that are whole tokens");
        }
        List<String> tokens = new ArrayList<>(vocabSize);
        int[] types = new int[vocabSize];
        Map<Integer, AddedToken> added = tokenizer.addedTokens();
        for (int id = 0; id < vocabSize; id++) {
            AddedToken a = added.get(id);
            String token = tokenizer.idToToken(id);
            if (token == null) {
                tokens.add("[PAD" + id + "]");
                types[id] = UNUSED;
            } else {
                tokens.add(token);
                types[id] = a == null ? NORMAL : a.special() || looksSpecial(token) ? CONTROL : USER_DEFINED;
            }
        }
        MergeTable table = tokenizer.model().merges();
        List<String> merges = new ArrayList<>(table.size());
        for (int rank = 0; rank < table.size(); rank++) {
            merges.add(spaceEncoded(tokenizer.model().token(table.left(rank))) + " "
                    + spaceEncoded(tokenizer.model().token(table.right(rank))));
        }
        return new LlamaCppVocabulary("gpt2", pre, List.copyOf(tokens), null, types, List.copyOf(merges), bos, eos, unk,
                pad, addBos, addEos, false, tokenizer.config().chatTemplate(), List.copyOf(notes));
    }

    /** A space inside a merge part is written as U+0120, as llama.cpp's converter does, since a space separates the parts. */
    private static String spaceEncoded(String part) {
        return part.replace(' ', '\u0120');
    }

    private static LlamaCppVocabulary sentencePiece(Tokenizer tokenizer, int vocabSize, int bos, int eos, int unk,
                                                    int pad, boolean addBos, boolean addEos, List<String> notes) {
        BpeModel model = tokenizer.model();
        // Gemma's splits at spaces, of which its normalizer (checked below to replace them all) leaves none
        if (!tokenizer.preTokenizer().splitsOnlyAt(" ")) {
            throw new TokenizerException(tokenizer + ": a tokenizer that is neither byte-level nor SentencePiece-style "
                    + "(metaspace normalizer, no pre-tokenizer or one that splits at spaces only, byte fallback) has no "
                    + "llama.cpp counterpart here");
        }
        if (!model.byteFallback()) {
            throw new TokenizerException(tokenizer + ": a SentencePiece-style tokenizer without byte_fallback has no "
                    + "llama.cpp counterpart (llama.cpp spells unknown characters as byte tokens)");
        }
        boolean addSpacePrefix = metaspaceNormalizer(tokenizer);
        MergeTable merges = model.merges();
        // llama.cpp merges the adjacent pair whose result has the highest score; the tokenizers library the pair
        // of lowest rank. A token scored by minus the first rank that makes it orders merges the same way.
        int[] firstRank = new int[vocabSize];
        Arrays.fill(firstRank, -1);
        for (int rank = 0; rank < merges.size(); rank++) {
            int made = merges.mergedId(rank);
            if (made < vocabSize && firstRank[made] < 0) {
                firstRank[made] = rank;
            }
        }
        List<String> tokens = new ArrayList<>(vocabSize);
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        Map<Integer, AddedToken> added = tokenizer.addedTokens();
        for (int id = 0; id < vocabSize; id++) {
            String token = tokenizer.idToToken(id);
            AddedToken a = added.get(id);
            if (token == null) {
                tokens.add("[PAD" + id + "]");
                types[id] = UNUSED;
                continue;
            }
            tokens.add(token);
            if (id == model.unkId() || id == unk) {
                types[id] = UNKNOWN;
            } else if (a != null) {
                types[id] = a.special() || looksSpecial(token) ? CONTROL : USER_DEFINED;
                // added tokens merges also make (Gemma's runs of "\u2581" and newlines) keep their place among them
                if (firstRank[id] >= 0) {
                    scores[id] = -firstRank[id];
                }
            } else if (BYTE_TOKEN.matcher(token).matches()) {
                types[id] = BYTE;
            } else {
                types[id] = NORMAL;
                // Tokens no merge makes come last, should llama.cpp find one as a pair.
                scores[id] = firstRank[id] >= 0 ? -firstRank[id] : -(float) (merges.size() + id);
            }
        }
        return new LlamaCppVocabulary("llama", null, List.copyOf(tokens), scores, types, List.of(), bos, eos, unk,
                pad, addBos, addEos, addSpacePrefix, tokenizer.config().chatTemplate(), List.copyOf(notes));
    }

    /**
     * Added tokens the converter types as control tokens even where tokenizer.json does not call them special
     * (does_token_look_special): Gemma's {@code <unusedN>} and {@code <mask>}, and {@code <|...|>} tokens.
     */
    private static boolean looksSpecial(String token) {
        return token.equals("<pad>") || token.equals("<mask>") || token.equals("<2mass>") || token.equals("[@BOS@]")
                || (token.startsWith("<|") && token.endsWith("|>"))
                || (token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>"))
                || (token.startsWith("<unused") && token.endsWith(">"));
    }

    /**
     * Whether the normalizer puts "▁" in front (llama.cpp's add_space_prefix); it must replace spaces by "▁", as
     * llama.cpp does, and do nothing else.
     */
    private static boolean metaspaceNormalizer(Tokenizer tokenizer) {
        List<Normalizer> steps = tokenizer.normalizer() instanceof Normalizer.Sequence s ? s.steps()
                : tokenizer.normalizer() == null ? List.of() : List.of(tokenizer.normalizer());
        boolean prepend = false;
        boolean replace = false;
        for (Normalizer step : steps) {
            if (step instanceof Normalizer.Prepend p && p.prefix().equals(METASPACE) && !prepend && !replace) {
                prepend = true;
            } else if (step instanceof Normalizer.Replace r && r.pattern().equals(" ") && r.content().equals(METASPACE)
                    && !replace) {
                replace = true;
            } else {
                throw new TokenizerException(tokenizer + ": normalizer step " + step + " has no llama.cpp counterpart "
                        + "(llama.cpp's SentencePiece vocabularies only prepend \"\u2581\" and replace spaces by it)");
            }
        }
        if (!replace) {
            throw new TokenizerException(tokenizer + ": a SentencePiece-style tokenizer must replace spaces by \"\u2581\""
                    + " in its normalizer for llama.cpp to tokenize as it does");
        }
        return prepend;
    }

    /** Vocabulary size. */
    public int size() {
        return tokens.size();
    }
}
