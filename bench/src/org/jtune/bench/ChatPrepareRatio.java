package org.jtune.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.jtune.tokenizer.TestTokenizers;
import org.jtune.tokenizer.Tokenizer;

/**
 * Chat against Alpaca preparation speed on a busy machine: the two formats of
 * {@link ChatPrepareBenchmark} prepared alternately, round after round in one JVM, so that both see
 * the same load; the fastest and the median round of each are compared. Prints the result as
 * benchmark records.
 *
 * Run: mvn -q test-compile, then
 * java -cp target/test-classes:target/classes:$(deps) org.jtune.bench.ChatPrepareRatio [rounds]
 */
public final class ChatPrepareRatio {
    private ChatPrepareRatio() {}

    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        Tokenizer tokenizer = TestTokenizers.llama3();
        Path alpaca = ChatPrepareBenchmark.writeData("alpaca");
        Path chat = ChatPrepareBenchmark.writeData("messages");
        try {
            for (int i = 0; i < 5; i++) {
                ChatPrepareBenchmark.prepare(alpaca, tokenizer);
                ChatPrepareBenchmark.prepare(chat, tokenizer);
            }
            double[] a = new double[rounds];
            double[] c = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                a[i] = time(alpaca, tokenizer);
                c[i] = time(chat, tokenizer);
            }
            Arrays.sort(a);
            Arrays.sort(c);
            String command = "java -cp target/test-classes:target/classes:$(deps) org.jtune.bench.ChatPrepareRatio "
                    + rounds;
            for (String stat : new String[] {"fastest", "median"}) {
                int at = stat.equals("fastest") ? 0 : rounds / 2;
                double recordsPerSecondChat = ChatPrepareBenchmark.RECORDS / c[at];
                double recordsPerSecondAlpaca = ChatPrepareBenchmark.RECORDS / a[at];
                BenchRecord r = new BenchRecord("data.prepare.chat_vs_alpaca." + stat, recordsPerSecondChat,
                        "records/s", recordsPerSecondAlpaca, "the same texts as Alpaca records", true,
                        "none (CPU)", "", java.time.LocalDate.now().toString(), command);
                System.out.println(r.toJsonLine());
            }
        } finally {
            Files.deleteIfExists(alpaca);
            Files.deleteIfExists(chat);
        }
    }

    private static double time(Path file, Tokenizer tokenizer) {
        long start = System.nanoTime();
        ChatPrepareBenchmark.prepare(file, tokenizer);
        return (System.nanoTime() - start) / 1e9;
    }
}
