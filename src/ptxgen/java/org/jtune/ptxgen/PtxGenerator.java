package org.jtune.ptxgen;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Renders the generated PTX files from their templates (found on the class path under {@link #TEMPLATES}). */
public final class PtxGenerator {
    /** Where the templates of {@code src/ptxgen/templates} are on the class path. */
    public static final String TEMPLATES = "org/jtune/ptxgen/templates/";

    private PtxGenerator() {
    }

    /** Every generated file, in the order they are written. */
    public static List<KernelFile> files() {
        return List.of(new GemmSm80(), new GemmSm90(), new FlashAttentionForward(), new FlashAttentionBackward(),
                new DecodeMatvec(), new DecodeAttentionFile());
    }

    public static KernelFile file(String name) {
        return files().stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no generated PTX file '" + name + "'; there are "
                        + files().stream().map(KernelFile::name).toList()));
    }

    /** The PTX text of {@code file} with its defaults, except for {@code overrides} (parameter name to value). */
    public static String generate(KernelFile file, Map<String, String> overrides) {
        Parameters parameters = Parameters.of(file, overrides);
        Map<String, Object> variables = file.variables(parameters);
        return template(file.template()).render(variables, PtxGenerator::template);
    }

    static Template template(String name) {
        String resource = TEMPLATES + name;
        try (InputStream in = PtxGenerator.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new TemplateException("no template " + resource + " on the class path");
            }
            return Template.parse(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read template " + resource, e);
        }
    }
}
