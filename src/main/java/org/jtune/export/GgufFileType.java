package org.jtune.export;

import org.jtune.io.GgmlType;

import java.util.Arrays;
import java.util.Locale;

/**
 * What {@code export-gguf --type} asks for: the main tensor type of the file and llama.cpp's number for it
 * ({@code general.file_type}, llama.cpp's {@code llama_ftype}).
 */
public enum GgufFileType {
    F16(GgmlType.F16, 1),
    BF16(GgmlType.BF16, 32),
    Q8_0(GgmlType.Q8_0, 7),
    Q4_0(GgmlType.Q4_0, 2),
    Q4_K_M(GgmlType.Q4_K, 15);

    private final GgmlType baseType;
    private final int llamaFileType;

    GgufFileType(GgmlType baseType, int llamaFileType) {
        this.baseType = baseType;
        this.llamaFileType = llamaFileType;
    }

    /** The type of the matrices no rule gives another type. */
    public GgmlType baseType() {
        return baseType;
    }

    /** {@code general.file_type}. */
    public int llamaFileType() {
        return llamaFileType;
    }

    /** Whether the matrices are block-quantized (then llama.cpp's quantization rules apply). */
    public boolean quantized() {
        return this != F16 && this != BF16;
    }

    /** The name on the command line, e.g. {@code q4_k_m}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code f16|bf16|q8_0|q4_0|q4_k_m} (any case). */
    public static GgufFileType parse(String name) {
        for (GgufFileType t : values()) {
            if (t.cliName().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown GGUF type '" + name + "' (" + String.join(", ",
                Arrays.stream(values()).map(GgufFileType::cliName).toList()) + ")");
    }
}
