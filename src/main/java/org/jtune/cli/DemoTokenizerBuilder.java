package org.jtune.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.jtune.data.DemoDatasets;

/**
 * Builds the demo's tokenizer from the demo dataset itself: a byte-level BPE (the GPT-2 / Llama 3 scheme) with
 * {@value #MERGES} merges learned from the message texts, and five special tokens, written as Hugging Face
 * {@code tokenizer.json} and {@code tokenizer_config.json} (with a small chat template). The real Llama and Mistral
 * tokenizers may not be redistributed; this one is small and ours. Ties between equally frequent pairs go to the
 * pair that sorts first, so the output is the same on every run.
 * <p>
 * Regenerate the committed files (after {@code mvn -q compile}):
 * <pre>
 * java -cp target/classes:$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout) \
 *     org.jtune.cli.DemoTokenizerBuilder src/main/resources/org/jtune/cli/demo
 * </pre>
 */
public final class DemoTokenizerBuilder {
    /** Merges learned: with 256 bytes and 5 special tokens, a vocabulary of about 512. */
    static final int MERGES = 251;
    static final List<String> SPECIAL_TOKENS = List.of("<|bos|>", "<|eos|>", "<|system|>", "<|user|>",
            "<|assistant|>");
    /** GPT-2's split of text into words; BPE never merges across words. */
    private static final Pattern WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    /** System, user and assistant turns; an assistant turn ends with the end-of-sequence token, the loss target. */
    static final String CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}"
            + "{{ '<|' + message['role'] + '|>' + message['content'] }}"
            + "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

    private DemoTokenizerBuilder() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: DemoTokenizerBuilder <output folder>");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        List<String[]> merges = learnMerges(wordCounts(demoTexts()), MERGES);
        Files.writeString(out.resolve("tokenizer.json"), mapper.writeValueAsString(tokenizerJson(merges, mapper)) + "\n");
        ObjectNode config = mapper.createObjectNode();
        config.put("bos_token", SPECIAL_TOKENS.get(0));
        config.put("eos_token", SPECIAL_TOKENS.get(1));
        config.put("chat_template", CHAT_TEMPLATE);
        Files.writeString(out.resolve("tokenizer_config.json"), mapper.writeValueAsString(config) + "\n");
    }

    /** Every message text of the demo dataset. */
    private static List<String> demoTexts() throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        String resource = "/org/jtune/data/demo/" + DemoDatasets.DEFINITIONS_SFT.fileName();
        try (var in = DemoTokenizerBuilder.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource missing: " + resource);
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(new GZIPInputStream(in),
                    StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                for (JsonNode message : mapper.readTree(line).get("messages")) {
                    texts.add(message.get("content").asText());
                }
            }
        }
        return texts;
    }

    /** How often each word occurs, the word written in the byte-level alphabet. */
    private static Map<String, Integer> wordCounts(List<String> texts) {
        Map<String, Integer> counts = new HashMap<>();
        for (String text : texts) {
            Matcher m = WORDS.matcher(text);
            while (m.find()) {
                counts.merge(byteLevel(m.group()), 1, Integer::sum);
            }
        }
        return counts;
    }

    /** Classic BPE training: repeatedly merge the most frequent adjacent pair of symbols. */
    static List<String[]> learnMerges(Map<String, Integer> counts, int mergeCount) {
        List<List<String>> words = new ArrayList<>();
        List<Integer> freq = new ArrayList<>();
        counts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(c -> symbols.add(Character.toString(c)));
            words.add(symbols);
            freq.add(e.getValue());
        });
        List<String[]> merges = new ArrayList<>();
        while (merges.size() < mergeCount) {
            Map<String, Integer> pairs = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairs.merge(s.get(i) + " " + s.get(i + 1), freq.get(w), Integer::sum);
                }
            }
            String best = null;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (best == null || e.getValue() > pairs.get(best)
                        || (e.getValue().equals(pairs.get(best)) && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                }
            }
            if (best == null) {
                break;
            }
            String[] pair = best.split(" ", 2);
            merges.add(pair);
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
                        s.set(i, pair[0] + pair[1]);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return merges;
    }

    private static ObjectNode tokenizerJson(List<String[]> merges, ObjectMapper mapper) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(BYTE_TO_CHAR[b]), b);
        }
        for (String[] m : merges) {
            // two different pairs may spell the same token: it keeps its first id
            vocab.putIfAbsent(m[0] + m[1], vocab.size());
        }
        ObjectNode root = mapper.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIAL_TOKENS.size(); i++) {
            added.addObject().put("id", vocab.size() + i).put("content", SPECIAL_TOKENS.get(i)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", SPECIAL_TOKENS.get(0)).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addAll(single.deepCopy());
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        post.putObject("special_tokens").putObject(SPECIAL_TOKENS.get(0)).put("id", SPECIAL_TOKENS.get(0))
                .putArray("ids").add(vocab.size());
        ((ObjectNode) post.get("special_tokens").get(SPECIAL_TOKENS.get(0))).putArray("tokens")
                .add(SPECIAL_TOKENS.get(0));
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        ArrayNode mergeNode = model.putArray("merges");
        for (String[] m : merges) {
            mergeNode.addArray().add(m[0]).add(m[1]);
        }
        return root;
    }

    /** GPT-2's table: printable Latin-1 bytes stand for themselves, the others move to 256 and up, in order. */
    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + next++);
        }
    }

    private static String byteLevel(String word) {
        StringBuilder s = new StringBuilder();
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
            s.append(BYTE_TO_CHAR[b & 0xff]);
        }
        return s.toString();
    }
}
