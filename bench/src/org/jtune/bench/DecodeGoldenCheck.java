package org.jtune.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jtune.cuda.Context;
import org.jtune.cuda.Device;
import org.jtune.model.LoadOptions;
import org.jtune.model.LoadedModel;
import org.jtune.model.LoraAdapters;
import org.jtune.model.ModelLoader;
import org.jtune.model.gpu.GpuDecodeEngine;
import org.jtune.tensor.HalfFloats;
import org.jtune.train.AdapterFiles;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The GPU decode engine against transformers' (and PEFT's) logits on the folders {@code bench/peer/decode_golden.py}
 * writes (named by the environment variable JTUNE_DECODE_GOLDEN): for every shape, base model and adapter, 20
 * sequences are prefilled into 20 slots and teacher-forced through 64 decode steps together (groups of 16 and 4),
 * and every step's logits are compared with transformers' at that position. Records the largest relative
 * (Euclidean) difference of a logit vector, and how many greedy choices agree where transformers' top two logits
 * are further apart than that tolerance; fails if any vector is off by more than {@value #TOLERANCE} or a greedy
 * choice with such a margin differs.
 */
final class DecodeGoldenCheck implements BenchMain.Benchmark {
    /** Relative Euclidean difference allowed: 16 bf16 units; both sides round every activation to bf16. */
    static final double TOLERANCE = 16 * 0x1p-8;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public List<BenchRecord> run(BenchMain.RecordMaker records) throws IOException {
        String folder = System.getenv("JTUNE_DECODE_GOLDEN");
        if (folder == null || folder.isBlank()) {
            throw new IllegalArgumentException("set JTUNE_DECODE_GOLDEN to the folder bench/peer/decode_golden.py"
                    + " wrote");
        }
        List<BenchRecord> out = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try (Stream<Path> shapes = Files.list(Path.of(folder))) {
            for (Path shape : shapes.filter(p -> Files.isRegularFile(p.resolve("golden.json"))).sorted().toList()) {
                check(shape, records, out, failures);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no golden.json under " + folder);
        }
        if (!failures.isEmpty()) {
            out.forEach(r -> System.out.println(r.toJsonLine()));
            throw new AssertionError("decode logits differ from transformers':\n  " + String.join("\n  ", failures));
        }
        return out;
    }

    private static void check(Path shape, BenchMain.RecordMaker records, List<BenchRecord> out, List<String> failures)
            throws IOException {
        JsonNode golden = new ObjectMapper().readTree(shape.resolve("golden.json").toFile());
        int steps = golden.get("steps").asInt(), vocab = golden.get("vocab_size").asInt();
        List<int[]> sequences = new ArrayList<>();
        golden.get("sequences").forEach(s -> {
            int[] tokens = new int[s.size()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = s.get(i).asInt();
            }
            sequences.add(tokens);
        });
        int[] prompts = new int[sequences.size()];
        int longest = 0;
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = golden.get("prompt_lengths").get(i).asInt();
            longest = Math.max(longest, sequences.get(i).length);
        }
        Context context = Context.primary(Device.get(0));
        try (LoadedModel model = ModelLoader.load(shape.resolve("model"), LoadOptions.asStored());
             Arena arena = Arena.ofShared()) {
            var variants = golden.get("logits").fields();
            while (variants.hasNext()) {
                var variant = variants.next();
                String name = "decode.golden." + shape.getFileName() + "." + variant.getKey();
                LoraAdapters adapters = variant.getKey().equals("adapter")
                        ? AdapterFiles.load(shape.resolve("adapter"), model.config(), arena) : null;
                try (FileChannel channel = FileChannel.open(shape.resolve(variant.getValue().asText()),
                        StandardOpenOption.READ);
                     Arena mapped = Arena.ofConfined();
                     GpuDecodeEngine engine = GpuDecodeEngine.create(context, model.config(), model.weights(),
                             adapters, sequences.size(), longest)) {
                    MemorySegment expected = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), mapped);
                    Comparison c = run(engine, sequences, prompts, steps, vocab, expected);
                    System.out.printf("%s: largest relative difference %.4f, mean %.4f; greedy agreement %d of %d"
                            + " decisive%n", name, c.worst, c.mean(), c.agreeing, c.decisive);
                    out.add(records.make(name + ".max_relative_difference", c.worst, "ratio", false));
                    out.add(records.make(name + ".mean_relative_difference", c.mean(), "ratio", false));
                    out.add(records.make(name + ".greedy_agreement", c.decisive == 0 ? 1
                            : (double) c.agreeing / c.decisive, "ratio", true));
                    if (c.worst > TOLERANCE || c.agreeing < c.decisive) {
                        failures.add(name + ": largest relative difference " + c.worst + " (allowed " + TOLERANCE
                                + "), greedy agreement " + c.agreeing + " of " + c.decisive + " " + c.where);
                    }
                }
            }
        }
    }

    private static final class Comparison {
        double worst, sum;
        int vectors, decisive, agreeing;
        String where = "";

        double mean() {
            return vectors == 0 ? 0 : sum / vectors;
        }
    }

    private static Comparison run(GpuDecodeEngine engine, List<int[]> sequences, int[] prompts, int steps, int vocab,
                                  MemorySegment expected) {
        int n = sequences.size();
        Comparison c = new Comparison();
        float[] logits = new float[n * vocab];
        for (int s = 0; s < n; s++) {
            engine.prefill(s, java.util.Arrays.copyOf(sequences.get(s), prompts[s]), logits);
            compare(c, logits, 0, expected, ((long) s * (steps + 1)) * vocab, vocab, "sequence " + s + " prefill");
        }
        int[] slots = new int[n], tokens = new int[n];
        for (int step = 0; step < steps; step++) {
            for (int s = 0; s < n; s++) {
                slots[s] = s;
                tokens[s] = sequences.get(s)[prompts[s] + step];
            }
            engine.decode(slots, tokens, logits);
            for (int s = 0; s < n; s++) {
                compare(c, logits, s * vocab, expected, ((long) s * (steps + 1) + step + 1) * vocab, vocab,
                        "sequence " + s + " step " + step);
            }
        }
        return c;
    }

    private static void compare(Comparison c, float[] got, int offset, MemorySegment expected, long first, int vocab,
                                String where) {
        double diff = 0, norm = 0;
        int best = 0, gotBest = 0;
        double top = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
            double e = HalfFloats.bf16ToFloat(expected.getAtIndex(BF16, first + v));
            double g = got[offset + v];
            diff += (g - e) * (g - e);
            norm += e * e;
            if (e > top) {
                second = top;
                top = e;
                best = v;
            } else if (e > second) {
                second = e;
            }
            if (g > got[offset + gotBest]) {
                gotBest = v;
            }
        }
        double relative = Math.sqrt(diff / norm);
        if (!(relative <= c.worst) || Double.isNaN(relative)) {
            c.worst = Double.isNaN(relative) ? Double.POSITIVE_INFINITY : relative;
            c.where = "(worst at " + where + ")";
        }
        c.sum += relative;
        c.vectors++;
        if (top - second > TOLERANCE * Math.sqrt(norm / vocab)) {
            c.decisive++;
            if (best == gotBest) {
                c.agreeing++;
            }
        }
    }
}
