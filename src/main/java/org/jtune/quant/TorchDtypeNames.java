package org.jtune.quant;

import org.jtune.tensor.DType;

/** The torch dtype names bitsandbytes writes into quant-state blobs ("bfloat16", "float16", "float32"). */
public final class TorchDtypeNames {
    private TorchDtypeNames() {}

    /** The torch name of a weight dtype. */
    public static String name(DType dtype) {
        return switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            default -> throw new IllegalArgumentException("dtype " + dtype + " has no bitsandbytes weight name");
        };
    }

    /** The dtype of a torch name; accepts a "torch." prefix. where names the field for the error. */
    public static DType parse(String name, String where) {
        String bare = name.startsWith("torch.") ? name.substring("torch.".length()) : name;
        return switch (bare) {
            case "bfloat16" -> DType.BF16;
            case "float16" -> DType.F16;
            case "float32" -> DType.F32;
            default -> throw new IllegalArgumentException(where + ": dtype \"" + name
                    + "\" is not supported (expected bfloat16, float16 or float32)");
        };
    }
}
