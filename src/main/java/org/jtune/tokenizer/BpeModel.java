package org.jtune.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE "model" of tokenizer.json: vocabulary, ranked merges, and how a word becomes tokens
 * (characters or bytes first, then the best-ranked adjacent pair merged until none applies).
 */
final class BpeModel {
    /** Words longer than this are not cached (a SentencePiece-style text is one long word). */
    private static final int MAX_CACHED_WORD = 256;
    private static final int MAX_CACHE_ENTRIES = 1 << 18;

    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final MergeTable merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    /** Id of "<0xXX>" for each byte, when byte fallback is on. */
    private final int[] byteFallbackIds;
    private final Map<String, WordTokens> cache = new ConcurrentHashMap<>();
    private final MetaspaceCutter metaspaceCutter;

    /** Tokens of one word: ids with [start, end) in UTF-16 units of the word. */
    record WordTokens(int[] ids, int[] starts, int[] ends) {
    }

    private BpeModel(Map<String, Integer> vocab, MergeTable merges, String unkToken, boolean fuseUnk,
                     boolean byteFallback, boolean ignoreMerges, String file) {
        this.vocab = vocab;
        this.merges = merges;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        tokens = new String[maxId + 1];
        vocab.forEach((token, id) -> tokens[id] = token);
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            throw new TokenizerException(file + ": unk_token '" + unkToken + "' is not in the vocabulary");
        }
        unkId = unkToken == null ? -1 : vocab.get(unkToken);
        metaspaceCutter = new MetaspaceCutter(vocab.keySet());
        byteFallbackIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteFallbackIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
    }

    /** Where a SentencePiece-style word may be cut into pieces with the same tokens. */
    MetaspaceCutter metaspaceCutter() {
        return metaspaceCutter;
    }

    static BpeModel fromJson(JsonNode model, String file) {
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new TokenizerException(file + ": model type '" + type + "' is not supported (only BPE)");
        }
        for (String unsupported : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode v = model.get(unsupported);
            if (v != null && !v.isNull() && !v.asText().isEmpty()) {
                throw new TokenizerException(file + ": BPE " + unsupported + " is not supported, found " + v);
            }
        }
        JsonNode dropout = model.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() != 0.0) {
            throw new TokenizerException(file + ": BPE dropout " + dropout + " is not supported (it randomizes encoding)");
        }
        JsonNode vocabNode = Json.field(model, "vocab", file);
        if (!vocabNode.isObject()) {
            throw new TokenizerException(file + ": the BPE vocab must be an object of token: id, found "
                    + Json.abbreviate(vocabNode));
        }
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        Map<Integer, String> tokenOfId = new HashMap<>(vocabNode.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = Json.id(e.getValue(), "the id of vocabulary token '" + e.getKey() + "'", file);
            String other = tokenOfId.putIfAbsent(id, e.getKey());
            if (other != null) {
                throw new TokenizerException(file + ": vocabulary tokens '" + other + "' and '" + e.getKey()
                        + "' have the same id " + id);
            }
            vocab.put(e.getKey(), id);
        }
        JsonNode mergesNode = Json.array(model, "merges", file);
        int n = mergesNode.size();
        int[] left = new int[n];
        int[] right = new int[n];
        int[] merged = new int[n];
        for (int i = 0; i < n; i++) {
            JsonNode m = mergesNode.get(i);
            String a;
            String b;
            if (m.isArray() && m.size() == 2) {
                a = m.get(0).asText();
                b = m.get(1).asText();
            } else {
                String s = m.asText();
                int space = s.indexOf(' ', 1);
                if (space < 0) {
                    throw new TokenizerException(file + ": merge #" + i + " '" + s + "' is not two tokens separated by a space");
                }
                a = s.substring(0, space);
                b = s.substring(space + 1);
            }
            left[i] = idOf(vocab, a, i, file);
            right[i] = idOf(vocab, b, i, file);
            merged[i] = idOf(vocab, a + b, i, file);
        }
        JsonNode unk = model.get("unk_token");
        return new BpeModel(vocab, new MergeTable(left, right, merged),
                unk == null || unk.isNull() ? null : unk.asText(),
                Json.bool(model, "fuse_unk", false), Json.bool(model, "byte_fallback", false),
                Json.bool(model, "ignore_merges", false), file);
    }

    private static int idOf(Map<String, Integer> vocab, String token, int merge, String file) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new TokenizerException(file + ": merge #" + merge + " uses '" + token + "', which is not in the vocabulary");
        }
        return id;
    }

    Integer id(String token) {
        return vocab.get(token);
    }

    /** The token of a model id, or null when the id is outside the model vocabulary. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    int size() {
        return tokens.length;
    }

    /** The merge rules, by rank. */
    MergeTable merges() {
        return merges;
    }

    boolean byteFallback() {
        return byteFallback;
    }

    boolean ignoreMerges() {
        return ignoreMerges;
    }

    /** The unk token's id, or -1. */
    int unkId() {
        return unkId;
    }

    /** Tokens of one word; byte-level words are first written as UTF-8 bytes in the byte-level alphabet. */
    WordTokens encodeWord(String word, boolean byteLevel) {
        boolean cacheable = word.length() <= MAX_CACHED_WORD;
        if (cacheable) {
            WordTokens cached = cache.get(word);
            if (cached != null) {
                return cached;
            }
        }
        WordTokens result = byteLevel ? encodeByteLevel(word) : encodeCharacters(word);
        if (cacheable && cache.size() < MAX_CACHE_ENTRIES) {
            cache.put(word, result);
        }
        return result;
    }

    private WordTokens encodeByteLevel(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        // Which characters of the word each byte belongs to.
        int[] charStart = new int[n];
        int[] charEnd = new int[n];
        StringBuilder shown = new StringBuilder(n);
        int b = 0;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int units = Character.charCount(cp);
            int len = utf8Length(cp);
            for (int k = 0; k < len; k++, b++) {
                charStart[b] = i;
                charEnd[b] = i + units;
                shown.append(ByteLevelAlphabet.charOf(bytes[b] & 0xff));
            }
            i += units;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(shown.toString());
            if (whole != null) {
                return new WordTokens(new int[] {whole}, new int[] {0}, new int[] {word.length()});
            }
        }
        Symbols s = new Symbols(n);
        for (int i = 0; i < n; i++) {
            String c = String.valueOf(shown.charAt(i));
            Integer id = vocab.get(c);
            if (id == null) {
                if (unkId < 0) {
                    throw new TokenizerException("byte-level character '" + c + "' (byte " + (bytes[i] & 0xff)
                            + ") is not in the vocabulary and there is no unk_token");
                }
                id = unkId;
            }
            s.add(id, i, i + 1);
        }
        s.mergeAll(merges);
        return s.toWordTokens(charStart, charEnd);
    }

    private WordTokens encodeCharacters(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new WordTokens(new int[] {whole}, new int[] {0}, new int[] {word.length()});
            }
        }
        // A character becomes at most 3 byte tokens per UTF-16 unit (4 bytes for 2 units).
        Symbols s = new Symbols(word.length() * 3);
        int pendingUnkStart = -1;
        int pendingUnkEnd = -1;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int end = i + Character.charCount(cp);
            Integer id = vocab.get(word.substring(i, end));
            if (id != null) {
                if (pendingUnkStart >= 0) {
                    s.add(unkId, pendingUnkStart, pendingUnkEnd);
                    pendingUnkStart = -1;
                }
                s.add(id, i, end);
            } else if (byteFallback && addBytes(s, cp, i, end)) {
                // The character is spelled as its UTF-8 bytes, each token covering the whole character.
            } else if (unkId >= 0) {
                if (pendingUnkStart >= 0 && fuseUnk) {
                    pendingUnkEnd = end;
                } else {
                    if (pendingUnkStart >= 0) {
                        s.add(unkId, pendingUnkStart, pendingUnkEnd);
                    }
                    pendingUnkStart = i;
                    pendingUnkEnd = end;
                }
            } else {
                throw new TokenizerException("character U+" + Integer.toHexString(cp).toUpperCase()
                        + " is not in the vocabulary and there is neither byte fallback nor an unk_token");
            }
            i = end;
        }
        if (pendingUnkStart >= 0) {
            s.add(unkId, pendingUnkStart, pendingUnkEnd);
        }
        s.mergeAll(merges);
        return s.toWordTokens(null, null);
    }

    private boolean addBytes(Symbols s, int codePoint, int start, int end) {
        byte[] utf8 = new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8);
        for (byte b : utf8) {
            if (byteFallbackIds[b & 0xff] < 0) {
                return false;
            }
        }
        for (byte b : utf8) {
            s.add(byteFallbackIds[b & 0xff], start, end);
        }
        return true;
    }

    private static int utf8Length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    /**
     * The symbols of a word as a linked list with a heap of candidate merges, ordered by rank and
     * then position, as the Hugging Face implementation orders them.
     */
    private static final class Symbols {
        private final int[] id;
        private final int[] start;
        private final int[] end;
        private final int[] prev;
        private final int[] next;
        private final boolean[] removed;
        private int size;
        private long[] heap;
        private int heapSize;

        Symbols(int capacity) {
            id = new int[Math.max(1, capacity)];
            start = new int[id.length];
            end = new int[id.length];
            prev = new int[id.length];
            next = new int[id.length];
            removed = new boolean[id.length];
            heap = new long[Math.max(16, capacity)];
        }

        void add(int tokenId, int s, int e) {
            id[size] = tokenId;
            start[size] = s;
            end[size] = e;
            prev[size] = size - 1;
            next[size] = size + 1;
            size++;
        }

        void mergeAll(MergeTable merges) {
            if (size == 0) {
                return;
            }
            next[size - 1] = -1;
            for (int i = 0; i + 1 < size; i++) {
                push(merges, i, i + 1);
            }
            while (heapSize > 0) {
                long top = pop();
                int rank = (int) (top >>> 32);
                int pos = (int) top;
                if (removed[pos] || next[pos] < 0) {
                    continue;
                }
                int right = next[pos];
                int currentRank = merges.rank(id[pos], id[right]);
                // A stale entry: the pair at this position changed since it was queued.
                if (currentRank < 0 || merges.mergedId(currentRank) != merges.mergedId(rank)) {
                    continue;
                }
                id[pos] = merges.mergedId(rank);
                end[pos] = Math.max(end[pos], end[right]);
                removed[right] = true;
                next[pos] = next[right];
                if (next[pos] >= 0) {
                    prev[next[pos]] = pos;
                }
                if (prev[pos] >= 0) {
                    push(merges, prev[pos], pos);
                }
                if (next[pos] >= 0) {
                    push(merges, pos, next[pos]);
                }
            }
        }

        private void push(MergeTable merges, int leftPos, int rightPos) {
            int rank = merges.rank(id[leftPos], id[rightPos]);
            if (rank < 0) {
                return;
            }
            if (heapSize == heap.length) {
                heap = java.util.Arrays.copyOf(heap, heapSize * 2);
            }
            long entry = ((long) rank << 32) | leftPos;
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= entry) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = entry;
        }

        private long pop() {
            long top = heap[0];
            long last = heap[--heapSize];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= heapSize) {
                    break;
                }
                if (child + 1 < heapSize && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (heap[child] >= last) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            if (heapSize > 0) {
                heap[i] = last;
            }
            return top;
        }

        /** The surviving symbols in order; byte positions are mapped to characters when maps are given. */
        WordTokens toWordTokens(int[] charStart, int[] charEnd) {
            IntList ids = new IntList(size);
            IntList starts = new IntList(size);
            IntList ends = new IntList(size);
            for (int i = 0; i < size; i++) {
                if (removed[i]) {
                    continue;
                }
                ids.add(id[i]);
                starts.add(charStart == null ? start[i] : charStart[start[i]]);
                ends.add(charEnd == null ? end[i] : charEnd[end[i] - 1]);
            }
            return new WordTokens(ids.toArray(), starts.toArray(), ends.toArray());
        }
    }
}
