package org.jtune.export;

import org.jtune.io.GgmlType;

/**
 * Which ggml type each tensor gets, as llama.cpp decides it: {@code f16}/{@code bf16} as its converter writes them
 * (matrices in that type, vectors in F32); {@code q8_0}, {@code q4_0} and {@code q4_k_m} as its quantize tool writes
 * them without an importance matrix (llama_tensor_get_type):
 * <ul>
 *   <li>vectors (norms, RoPE factors) stay F32;</li>
 *   <li>the output matrix (the embeddings when tied) is Q6_K, or Q8_0 for q8_0 or when its rows are not a multiple
 *       of 256;</li>
 *   <li>q4_k_m: {@code attn_v} and {@code ffn_down} are Q6_K in the first and last eighth of the layers and in every
 *       third layer between (llama.cpp's use_more_bits), and the other {@code attn_v} of 70B-class models (80 layers,
 *       grouped-query attention) Q5_K; everything else Q4_K;</li>
 *   <li>a k-quant whose rows are not a multiple of 256 falls back as llama.cpp's does (Q4_K to Q5_0, Q6_K to Q8_0,
 *       then F16 if still not whole blocks); q8_0 and q4_0 rows that are not a multiple of 32 are refused, as
 *       llama.cpp refuses them.</li>
 * </ul>
 */
public final class TensorTypeRules {
    private final GgufFileType fileType;
    private final int layers;
    private final boolean seventyB;

    /**
     * @param layers   decoder layers of the model
     * @param seventyB whether llama.cpp counts the model as 70B (80 layers with fewer key/value heads than heads)
     */
    public TensorTypeRules(GgufFileType fileType, int layers, boolean seventyB) {
        this.fileType = fileType;
        this.layers = layers;
        this.seventyB = seventyB;
    }

    /** What a tensor is, for the rules. */
    public enum Role { VECTOR, TOKEN_EMBEDDING, OUTPUT, ATTN_V, FFN_DOWN, OTHER_MATRIX }

    /**
     * The type of a tensor with rows of {@code rowLength} values.
     *
     * @param layer the decoder layer for ATTN_V and FFN_DOWN, else ignored
     * @throws IllegalArgumentException when llama.cpp could not store the tensor in the asked type either
     */
    public GgmlType typeOf(String name, Role role, long rowLength, int layer) {
        if (role == Role.VECTOR) {
            return GgmlType.F32;
        }
        if (!fileType.quantized()) {
            return fileType.baseType();
        }
        GgmlType type = fileType.baseType();
        if (role == Role.OUTPUT) {
            if (rowLength % 256 != 0) {
                return GgmlType.Q8_0;
            }
            return type == GgmlType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
        }
        if (fileType == GgufFileType.Q4_K_M) {
            if (role == Role.ATTN_V) {
                if (useMoreBits(layer, layers)) {
                    type = GgmlType.Q6_K;
                } else if (seventyB) {
                    type = GgmlType.Q5_K;
                }
            } else if (role == Role.FFN_DOWN && useMoreBits(layer, layers)) {
                type = GgmlType.Q6_K;
            }
        }
        if (type.fitsRow(rowLength)) {
            return type;
        }
        GgmlType fallback = switch (type) {
            case Q4_K -> GgmlType.Q5_0;
            case Q6_K -> GgmlType.Q8_0;
            default -> throw new IllegalArgumentException(name + ": its rows of " + rowLength + " values do not "
                    + "split into " + type + " blocks of " + type.blockSize() + ", which " + fileType.cliName()
                    + " needs" + (type == GgmlType.Q5_K ? " (llama.cpp would fall back to Q5_1, not written here)"
                    : " (llama.cpp refuses such a tensor too)") + "; export it as f16 or bf16");
        };
        return fallback.fitsRow(rowLength) ? fallback : GgmlType.F16;
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }
}
