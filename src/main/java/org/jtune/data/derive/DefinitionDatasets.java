package org.jtune.data.derive;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * Derives the demo instruction and preference datasets from WordNet 3.0 (Debian package wordnet-base):
 * "Define the word X." answered with the gloss of X's most frequent sense. The SFT file holds
 * conversations ({"messages": [user, assistant]}); the preference file holds prompt/chosen/rejected
 * strings where chosen is the right gloss and rejected the gloss of another word of the same part of
 * speech. Words are common single words (seen in WordNet's sense-tagged corpus), chosen and paired
 * by a seeded shuffle, so the same WordNet files and seed give byte-identical output.
 * <p>
 * Regenerate the committed files (after {@code apt-get install wordnet-base} and {@code mvn -q compile}):
 * <pre>
 * java -cp target/classes:$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout) \
 *     org.jtune.data.derive.DefinitionDatasets /usr/share/wordnet src/main/resources/org/jtune/data/demo
 * </pre>
 */
public final class DefinitionDatasets {
    /** The seed of the committed files. */
    public static final long SEED = 20240611L;
    public static final int SFT_RECORDS = 3000;
    public static final int DPO_RECORDS = 2000;
    public static final String SFT_FILE = "definitions-sft.jsonl.gz";
    public static final String DPO_FILE = "definitions-dpo.jsonl.gz";

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<String, String> PARTS = Map.of("noun", "noun", "verb", "verb", "adj", "adjective");

    /** One word with the definition of its most frequent sense. */
    record Entry(String word, String part, String definition) {
    }

    private DefinitionDatasets() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: DefinitionDatasets <wordnet dict folder, e.g. /usr/share/wordnet> <output folder>");
            System.exit(2);
        }
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        List<Entry> entries = entries(Path.of(args[0]));
        write(out.resolve(SFT_FILE), sftRecords(entries));
        write(out.resolve(DPO_FILE), dpoRecords(entries));
        System.out.println("wrote " + out.resolve(SFT_FILE) + " and " + out.resolve(DPO_FILE) + " from " + entries.size() + " words");
    }

    /** The usable words of WordNet, shuffled by {@link #SEED}. */
    static List<Entry> entries(Path wordnet) throws IOException {
        List<Entry> all = new ArrayList<>();
        for (String pos : List.of("noun", "verb", "adj")) {
            Map<Long, String> glosses = glosses(wordnet.resolve("data." + pos));
            for (String line : Files.readAllLines(wordnet.resolve("index." + pos), StandardCharsets.UTF_8)) {
                if (line.startsWith(" ")) {
                    continue; // license header
                }
                String[] f = line.trim().split(" ");
                String word = f[0];
                int pointerCount = Integer.parseInt(f[3]);
                int taggedSenses = Integer.parseInt(f[5 + pointerCount]);
                long firstSynset = Long.parseLong(f[6 + pointerCount]);
                if (taggedSenses == 0 || !word.matches("[a-z]{4,}")) {
                    continue;
                }
                String definition = definition(glosses.get(firstSynset));
                if (definition.length() >= 10 && definition.length() <= 160 && !definition.toLowerCase().contains(word)) {
                    all.add(new Entry(word, PARTS.get(pos), definition));
                }
            }
        }
        Collections.shuffle(all, new Random(SEED));
        return all;
    }

    /** Synset byte offset (its id) to gloss, from a data.* file. */
    private static Map<Long, String> glosses(Path data) throws IOException {
        Map<Long, String> out = new HashMap<>();
        for (String line : Files.readAllLines(data, StandardCharsets.UTF_8)) {
            int bar = line.indexOf(" | ");
            if (line.startsWith(" ") || bar < 0) {
                continue;
            }
            out.put(Long.parseLong(line.substring(0, line.indexOf(' '))), line.substring(bar + 3).trim());
        }
        return out;
    }

    /** The definition part of a gloss: before the first quoted example. */
    static String definition(String gloss) {
        int example = gloss.indexOf("; \"");
        String d = (example < 0 ? gloss : gloss.substring(0, example)).trim();
        if (d.startsWith("\"")) {
            return ""; // a gloss made only of examples
        }
        return d.endsWith(";") ? d.substring(0, d.length() - 1) : d;
    }

    static String question(Entry e) {
        return "Define the word \"" + e.word() + "\".";
    }

    static String answer(Entry e, String definition) {
        return Character.toUpperCase(e.word().charAt(0)) + e.word().substring(1) + " (" + e.part() + "): " + definition + ".";
    }

    static List<ObjectNode> sftRecords(List<Entry> entries) {
        List<ObjectNode> out = new ArrayList<>();
        for (Entry e : entries.subList(0, SFT_RECORDS)) {
            ObjectNode r = MAPPER.createObjectNode();
            ArrayNode messages = r.putArray("messages");
            messages.addObject().put("role", "user").put("content", question(e));
            messages.addObject().put("role", "assistant").put("content", answer(e, e.definition()));
            out.add(r);
        }
        return out;
    }

    /** The words after those of the SFT file, each with the definition of a later word of the same part of speech as rejected. */
    static List<ObjectNode> dpoRecords(List<Entry> entries) {
        List<Entry> words = entries.subList(SFT_RECORDS, SFT_RECORDS + DPO_RECORDS);
        Random random = new Random(SEED + 1);
        List<ObjectNode> out = new ArrayList<>();
        for (Entry e : words) {
            Entry other;
            do {
                other = entries.get(random.nextInt(entries.size()));
            } while (!other.part().equals(e.part()) || other.definition().equals(e.definition()));
            ObjectNode r = MAPPER.createObjectNode();
            r.put("prompt", question(e) + "\n");
            r.put("chosen", answer(e, e.definition()));
            r.put("rejected", answer(e, other.definition()));
            out.add(r);
        }
        return out;
    }

    private static void write(Path file, List<ObjectNode> records) {
        // GZIPOutputStream writes no time stamp or file name, so equal records give equal bytes.
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (ObjectNode r : records) {
                out.write(MAPPER.writeValueAsBytes(r));
                out.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
