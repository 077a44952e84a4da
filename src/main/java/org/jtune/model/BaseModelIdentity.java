package org.jtune.model;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jtune.tensor.Tensor;

/**
 * What identifies a base model, for checkpoints to record and resuming to check: a SHA-256 of the
 * config's math (every field of {@link ModelConfig}) and SHA-256 digests of the embeddings, the
 * norms and the LM head. A tensor's digest covers its dtype, shape and 256 evenly spread runs of
 * 64 bytes, so that identifying a 7B model reads kilobytes, not gigabytes, yet two bases of the same
 * shapes (another fine-tune, another random init) differ.
 */
public record BaseModelIdentity(String configDigest, Map<String, String> tensorDigests) {
    private static final int RUNS = 256;
    private static final int RUN_BYTES = 64;

    public BaseModelIdentity {
        tensorDigests = Map.copyOf(tensorDigests);
    }

    public static BaseModelIdentity of(ModelConfig config, ModelWeights weights) {
        Map<String, String> digests = new LinkedHashMap<>();
        digests.put("model.embed_tokens.weight", digest(weights.embedTokens()));
        for (int i = 0; i < weights.layers().size(); i++) {
            ModelWeights.Layer l = weights.layers().get(i);
            String prefix = ModelWeights.layerPrefix(i);
            l.norms().forEach((name, t) -> digests.put(prefix + name, digest(t)));
        }
        digests.put("model.norm.weight", digest(weights.norm()));
        digests.put("lm_head.weight", digest(weights.lmHead()));
        // Llama's design is left out of the text, so that checkpoints written before families existed still match
        String text = config.toString().replace(", design=" + LayerDesign.LLAMA, "");
        return new BaseModelIdentity(sha256(text.getBytes(StandardCharsets.UTF_8)), digests);
    }

    /** The first difference from {@code other} in words, or null when they are the same model. */
    public String differenceFrom(BaseModelIdentity other) {
        if (!configDigest.equals(other.configDigest)) {
            return "its config differs";
        }
        for (Map.Entry<String, String> e : tensorDigests.entrySet()) {
            String theirs = other.tensorDigests.get(e.getKey());
            if (theirs != null && !theirs.equals(e.getValue())) {
                return "its tensor " + e.getKey() + " differs";
            }
        }
        return null;
    }

    private static String digest(Tensor t) {
        MessageDigest md = sha();
        md.update((t.dtype() + java.util.Arrays.toString(t.shape())).getBytes(StandardCharsets.UTF_8));
        MemorySegment s = t.segment();
        long size = s.byteSize();
        byte[] run = new byte[RUN_BYTES];
        for (int i = 0; i < RUNS; i++) {
            long at = size <= RUN_BYTES ? 0 : (size - RUN_BYTES) * i / (RUNS - 1);
            int len = (int) Math.min(RUN_BYTES, size - at);
            MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, at, run, 0, len);
            md.update(run, 0, len);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha().digest(bytes));
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
