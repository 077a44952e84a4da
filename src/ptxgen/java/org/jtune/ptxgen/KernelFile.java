package org.jtune.ptxgen;

import java.util.List;
import java.util.Map;

/**
 * One generated PTX file: the template it is rendered from, the parameters that can be changed for a variant,
 * and the names (parameters and what follows from them) the template reads. Implementations check that the
 * parameters make a kernel that the launcher in {@code org.jtune.kernels} can run as it is.
 */
public interface KernelFile {

    /** The file name without {@code .ptx}, as the runtime loads it (e.g. {@code gemm_bf16}). */
    String name();

    /** The template's file name in {@code src/ptxgen/templates}. */
    default String template() {
        return name() + ".ptxt";
    }

    List<Parameter> parameters();

    /** The names the template reads, for these parameter values; bad values fail with a message saying why. */
    Map<String, Object> variables(Parameters parameters);
}
