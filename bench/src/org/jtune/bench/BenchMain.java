package org.jtune.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jtune.cuda.Cuda;
import org.jtune.cuda.Device;

/**
 * Runs a GPU benchmark by name and writes its records as JSON lines:
 * {@code BenchMain NAME [--only PART] [--shape SHAPE]... [--out FILE] [--peer FILE] [--baseline FILE]} (--only: the
 * benchmark's parts whose names start with PART, where the benchmark has parts, e.g. train's "llama3_8b.nf4";
 * --shape: the model shapes to run instead of the default ones, where the benchmark has a choice, e.g. train's
 * "qwen2.5-7b" and "qwen3-8b"). A peer file holds JSON lines of the same
 * names measured by the peer (e.g. torch) in the same run; matching records get the peer's value and ratio.
 * A baseline file holds recorded results: the run fails (exit status 3) if any measurement is more than 5% worse
 * than the last one recorded under its name on the same GPU. The commit comes from the JTUNE_COMMIT environment
 * variable. Two commands are not benchmarks and need no GPU: {@code fidelity} ({@link FidelityRun}) and
 * {@code fidelity-report} ({@link FidelityReport}, exit status 1 on FAIL).
 */
public final class BenchMain {

    /** A benchmark: measures and returns records made with the given context. */
    interface Benchmark {
        List<BenchRecord> run(RecordMaker records) throws Exception;

        /** Runs only the parts whose name starts with {@code only}; benchmarks without parts refuse a filter. */
        default List<BenchRecord> run(RecordMaker records, String only) throws Exception {
            throw new IllegalArgumentException("this benchmark has no parts to choose with --only");
        }

        /** Runs the named model shapes (and of them the parts {@code only} selects); benchmarks without refuse. */
        default List<BenchRecord> run(RecordMaker records, String only, List<String> shapes) throws Exception {
            throw new IllegalArgumentException("this benchmark has no model shapes to choose with --shape");
        }
    }

    /** Makes records stamped with the GPU, commit, date and command of this run. */
    record RecordMaker(String gpu, String commit, String date, String command) {
        BenchRecord make(String name, double value, String unit, boolean higherIsBetter) {
            return new BenchRecord(name, value, unit, null, null, higherIsBetter, gpu, commit, date, command);
        }
    }

    private static final Map<String, Benchmark> BENCHMARKS = Map.of("runtime", new RuntimeBenchmark(),
            "kernels", new KernelBenchmark(), "attention", new AttentionBenchmark(), "loss", new LossBenchmark(),
            "train", new TrainBenchmark(), "dpo", new DpoBenchmark(), "decode", new DecodeBenchmark(),
            "decode-golden", new DecodeGoldenCheck());

    /** How much worse than its baseline a measurement may be before the run fails. */
    private static final double ALLOWED_REGRESSION = 0.05;

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        String[] rest = args.length == 0 ? args : java.util.Arrays.copyOfRange(args, 1, args.length);
        if (args.length > 0 && args[0].equals("fidelity")) {
            FidelityRun.main(rest);
            return;
        }
        if (args.length > 0 && args[0].equals("fidelity-report")) {
            System.exit(FidelityReport.main(rest) ? 0 : 1);
        }
        if (args.length == 0 || !BENCHMARKS.containsKey(args[0])) {
            System.err.println("usage: BenchMain " + BENCHMARKS.keySet()
                    + " [--only PART] [--shape SHAPE]... [--out FILE.jsonl] [--peer PEER.jsonl]"
                    + " [--baseline RECORDED.jsonl]");
            System.err.println("       BenchMain fidelity --out DIR [--shape SHAPE] [--steps N] [--layers N]"
                    + " (jtune's side of the fidelity run; the backend picks GPU or CPU)");
            System.err.println("       BenchMain fidelity-report DIR (jtune's and the peer's losses side by side)");
            System.exit(2);
        }
        Path out = null;
        Path peer = null;
        Path baseline = null;
        String only = null;
        List<String> shapes = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--shape" -> shapes.add(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--peer" -> peer = Path.of(args[++i]);
                case "--baseline" -> baseline = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Cuda.requireAvailable();
        String gpu = Device.get(0).name();
        String commit = System.getenv().getOrDefault("JTUNE_COMMIT", "unknown");
        RecordMaker maker = new RecordMaker(gpu, commit, LocalDate.now().toString(),
                "bin/jtune-bench " + String.join(" ", args));
        Benchmark benchmark = BENCHMARKS.get(args[0]);
        List<BenchRecord> records = !shapes.isEmpty() ? benchmark.run(maker, only == null ? "" : only, shapes)
                : only == null ? benchmark.run(maker) : benchmark.run(maker, only);
        if (peer != null) {
            records = withPeer(records, readRecords(peer));
        }
        List<String> lines = new ArrayList<>();
        for (BenchRecord record : records) {
            lines.add(record.toJsonLine());
        }
        if (out != null) {
            Files.write(out, lines, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        printTable(records);
        if (baseline != null) {
            List<String> worse = Regression.worse(records, Regression.lastOnGpu(readRecords(baseline), gpu),
                    ALLOWED_REGRESSION);
            if (!worse.isEmpty()) {
                System.out.println("regressions against " + baseline + ":");
                worse.forEach(line -> System.out.println("  " + line));
                System.exit(3);
            }
            System.out.println("no regression over " + Math.round(ALLOWED_REGRESSION * 100) + "% against " + baseline);
        }
    }

    static List<BenchRecord> readRecords(Path file) throws IOException {
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).map(BenchRecord::fromJsonLine).toList();
    }

    private static List<BenchRecord> withPeer(List<BenchRecord> ours, List<BenchRecord> peers) {
        List<BenchRecord> joined = new ArrayList<>();
        for (BenchRecord record : ours) {
            BenchRecord match = peers.stream().filter(p -> p.name().equals(record.name())).findFirst().orElse(null);
            joined.add(match == null ? record : record.withPeer(match.value(), match.commit().isEmpty()
                    ? "peer" : match.commit()));
        }
        return joined;
    }

    private static void printTable(List<BenchRecord> records) {
        System.out.printf("%-44s %14s %-8s %14s %8s%n", "benchmark", "jtune", "unit", "peer", "ratio");
        for (BenchRecord r : records) {
            System.out.printf("%-44s %14.3f %-8s %14s %8s%n", r.name(), r.value(), r.unit(),
                    r.peerValue() == null ? "-" : String.format("%.3f", r.peerValue()),
                    r.ratio() == null ? "-" : String.format("%.2f", r.ratio()));
        }
    }
}
