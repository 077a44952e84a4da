package org.jtune.ptxgen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Command line of the PTX generator.
 * <pre>
 * PtxGen                                    rewrites every generated file in src/main/ptx from its template
 * PtxGen --out DIR FILE.param=value ...     writes a variant: the files named by the assignments, into DIR
 * PtxGen --out DIR --only FILE[,FILE]       writes the named files (defaults unless assigned) into DIR
 * PtxGen --list                             the generated files and their parameters
 * </pre>
 * Variants never go to src/main/ptx: the shipped kernels change by changing a default in their
 * {@link KernelFile} (and the test that compares the committed files then checks the new output).
 */
public final class PtxGen {
    static final Path SHIPPED = Path.of("src", "main", "ptx");

    private PtxGen() {
    }

    public static void main(String[] args) throws IOException {
        try {
            run(args);
        } catch (IllegalArgumentException | IllegalStateException | TemplateException e) {
            System.err.println("ptxgen: " + e.getMessage());
            System.exit(2);
        }
    }

    static void run(String[] args) throws IOException {
        Path out = null;
        Set<String> only = new LinkedHashSet<>();
        Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--list" -> {
                    list();
                    return;
                }
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--only" -> only.addAll(List.of(value(args, ++i, arg).split(",")));
                default -> {
                    int dot = arg.indexOf('.');
                    int eq = arg.indexOf('=');
                    if (dot <= 0 || eq < dot) {
                        throw new IllegalArgumentException("cannot read argument '" + arg
                                + "': expected --out DIR, --only FILE, --list or FILE.param=value");
                    }
                    String file = arg.substring(0, dot);
                    PtxGenerator.file(file);
                    overrides.computeIfAbsent(file, f -> new LinkedHashMap<>())
                            .put(arg.substring(dot + 1, eq), arg.substring(eq + 1));
                }
            }
        }
        if (out == null && !overrides.isEmpty()) {
            throw new IllegalArgumentException("a variant goes to a folder of its own (--out DIR); to change a shipped"
                    + " kernel, change the default in its KernelFile class and regenerate");
        }
        Path folder = out == null ? SHIPPED : out;
        List<KernelFile> files = new ArrayList<>();
        if (!only.isEmpty()) {
            only.forEach(name -> files.add(PtxGenerator.file(name)));
        } else if (!overrides.isEmpty()) {
            overrides.keySet().forEach(name -> files.add(PtxGenerator.file(name)));
        } else {
            files.addAll(PtxGenerator.files());
        }
        Files.createDirectories(folder);
        Optional<Ptxas> ptxas = Ptxas.find();
        for (KernelFile file : files) {
            Map<String, String> assigned = overrides.getOrDefault(file.name(), Map.of());
            String text = PtxGenerator.generate(file, assigned);
            Path target = folder.resolve(file.name() + ".ptx");
            Files.writeString(target, text, StandardCharsets.UTF_8);
            System.out.println("wrote " + target + " (" + Parameters.of(file, assigned) + ")" + assembled(ptxas, target));
        }
    }

    /** Where ptxas is installed, a variant is assembled for its target right away. */
    private static String assembled(Optional<Ptxas> ptxas, Path ptx) throws IOException {
        if (ptxas.isEmpty()) {
            return "";
        }
        String text = Files.readString(ptx, StandardCharsets.UTF_8);
        int at = text.indexOf(".target ");
        String target = text.substring(at + ".target ".length(), text.indexOf('\n', at)).strip();
        try {
            ptxas.get().assemble(ptx, target);
            return ", assembles for " + target;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while assembling " + ptx, e);
        }
    }

    private static void list() {
        for (KernelFile file : PtxGenerator.files()) {
            System.out.println(file.name() + ".ptx (template " + file.template() + ")");
            for (Parameter parameter : file.parameters()) {
                System.out.printf("  %-14s default %-10s %s%n", parameter.name(),
                        Parameter.format(parameter.defaultValue()), parameter.description());
            }
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
