package org.jtune.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.jtune.data.DatasetException;
import org.jtune.data.ReadLimits;
import org.jtune.data.SftDataset;
import org.jtune.data.SftOptions;
import org.jtune.io.SafetensorsFile;
import org.jtune.io.SafetensorsWriter;
import org.jtune.model.ModelConfig;
import org.jtune.model.ModelConfigException;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;
import org.jtune.tokenizer.BuiltinChatTemplate;
import org.jtune.tokenizer.ChatMessage;
import org.jtune.tokenizer.ChatTemplate;
import org.jtune.tokenizer.Tokenizer;
import org.jtune.tokenizer.TokenizerException;
import org.jtune.tokenizer.jinja.RenderBudget;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fuzz campaign against the loaders, one test per format, each on mutations of a valid input:
 * safetensors files ({@link SafetensorsFile}: {@code IOException}), config.json ({@link ModelConfig}:
 * {@link ModelConfigException}), tokenizer files ({@link Tokenizer}: {@link TokenizerException}), chat
 * templates ({@link ChatTemplate}: {@link TokenizerException}) and datasets ({@link SftDataset}:
 * {@link DatasetException}). Checkpoints are fuzzed in {@code org.jtune.train.CheckpointFuzzTest}.
 */
class LoaderFuzzTest {
    private static final long TIMEOUT_MS = 10_000;

    @TempDir
    static Path temp;

    private static Tokenizer tokenizer;
    private static byte[] tokenizerJson;
    private static byte[] tokenizerConfig;

    @BeforeAll
    static void seeds() throws IOException {
        tokenizerJson = resource("/org/jtune/cli/demo/tokenizer.json");
        tokenizerConfig = resource("/org/jtune/cli/demo/tokenizer_config.json");
        Path dir = Files.createDirectories(temp.resolve("tokenizer"));
        Files.write(dir.resolve("tokenizer.json"), tokenizerJson);
        Files.write(dir.resolve("tokenizer_config.json"), tokenizerConfig);
        tokenizer = Tokenizer.fromDirectory(dir);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = LoaderFuzzTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return in.readAllBytes();
        }
    }

    private static Path caseFile(int index, String name, byte[] content) throws IOException {
        Path dir = Files.createDirectories(temp.resolve("case-" + (index % 64)));
        Path file = dir.resolve(name);
        Files.write(file, content);
        return file;
    }

    @Test
    void safetensors() throws IOException {
        byte[] valid;
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor b = Tensor.allocate(arena, DType.BF16, 4);
            Path file = temp.resolve("seed.safetensors");
            new SafetensorsWriter().metadata("format", "pt").add("a", DType.F32, a.shape(), a.segment())
                    .add("b.weight", DType.BF16, b.shape(), b.segment()).write(file);
            valid = Files.readAllBytes(file);
        }
        new FuzzCampaign("safetensors", TIMEOUT_MS, IOException.class).run((rnd, i) -> {
            Path file = caseFile(i, "model.safetensors", Mutations.bytes(valid, rnd));
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String name : f.names()) {
                    f.info(name);
                    if (f.info(name).dtype().isComputeFloat()) {
                        f.readFloats(name);
                    }
                }
                f.metadata();
            }
        });
    }

    @Test
    void modelConfig() {
        JsonNode valid = Mutations.parse("""
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
                 "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "max_position_embeddings": 128, "rms_norm_eps": 1e-05,
                 "rope_theta": 500000.0, "vocab_size": 300, "tie_word_embeddings": false,
                 "bos_token_id": 1, "eos_token_id": [2, 3], "torch_dtype": "bfloat16",
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}""");
        new FuzzCampaign("config.json", TIMEOUT_MS, ModelConfigException.class).run((rnd, i) -> {
            String text = rnd.nextInt(4) == 0 ? new String(Mutations.bytes(valid.toString().getBytes(
                    StandardCharsets.UTF_8), rnd), StandardCharsets.UTF_8) : Mutations.json(valid, rnd);
            ModelConfig.parse(text, "config.json");
        });
    }

    @Test
    void tokenizerFiles() {
        JsonNode valid = Mutations.parse(new String(tokenizerJson, StandardCharsets.UTF_8));
        JsonNode validConfig = Mutations.parse(new String(tokenizerConfig, StandardCharsets.UTF_8));
        new FuzzCampaign("tokenizer", TIMEOUT_MS, TokenizerException.class).run((rnd, i) -> {
            byte[] json = tokenizerJson;
            byte[] config = tokenizerConfig;
            switch (rnd.nextInt(3)) {
                case 0 -> json = Mutations.bytes(tokenizerJson, rnd);
                case 1 -> json = Mutations.json(valid, rnd).getBytes(StandardCharsets.UTF_8);
                default -> config = Mutations.json(validConfig, rnd).getBytes(StandardCharsets.UTF_8);
            }
            Path tok = caseFile(i, "tokenizer.json", json);
            Path cfg = caseFile(i, "tokenizer_config.json", config);
            Tokenizer t = Tokenizer.fromFiles(tok, cfg, null);
            int[] ids = t.encodeIds("Hello <|user|> world, caf\u00e9 \ud83d\ude00 12345", true);
            t.decode(ids, false);
            if (t.config().chatTemplate() != null) {
                ChatTemplate.of(t, null).render(List.of(ChatMessage.user("hi")), true);
            }
        });
    }

    @Test
    void chatTemplates() throws IOException {
        List<String> seeds = new ArrayList<>();
        for (BuiltinChatTemplate b : BuiltinChatTemplate.values()) {
            seeds.add(b.source());
        }
        for (JsonNode c : Mutations.parse(new String(resource("/org/jtune/tokenizer/jinja/jinja-goldens.json"),
                StandardCharsets.UTF_8)).get("cases")) {
            if (c.get("name").asText().endsWith("/chat/True") || c.get("name").asText().startsWith("feature")) {
                seeds.add(c.get("template").asText());
            }
        }
        List<String> snippets = List.of("{{", "}}", "{%", "%}", "{% for x in range(1000) %}", "{% endfor %}",
                "{% if ", "{% endif %}", "{% set ns = namespace(a=1) %}", "|tojson", "|join", "[::-1]", " ~ ",
                " * 100000", "messages", "loop.index", "(", ")", "[", "]", "'", "\"", "{% macro m(x) %}{{ m(x) }}",
                "{% endmacro %}", "raise_exception('no')", ".strip()", ".split(", "{% include 'x' %}", "{#", "#}",
                "{% raw %}", "{% endraw %}", "is defined", "not ", " and ", " or ", "-", "+", "**", "//", "%",
                "{% break %}", "{% generation %}", "{% endgeneration %}", "x.__class__", "\n", "{%-", "-%}");
        RenderBudget budget = RenderBudget.DEFAULT.withMaxSteps(200_000).withMaxChars(1 << 20)
                .withMaxTime(Duration.ofSeconds(2));
        List<ChatMessage> chat = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"),
                ChatMessage.assistant("Hello."), ChatMessage.user("Bye"));
        new FuzzCampaign("chat template", TIMEOUT_MS, TokenizerException.class).run((rnd, i) -> {
            String source = Mutations.text(seeds.get(rnd.nextInt(seeds.size())), snippets, rnd);
            ChatTemplate t = new ChatTemplate(source, Map.of("bos_token", "<s>", "eos_token", "</s>"), "fuzz case",
                    budget);
            t.render(rnd.nextBoolean() ? chat : chat.subList(1, 3), rnd.nextBoolean());
        });
    }

    @Test
    void datasets() throws IOException {
        List<String> formats = List.of(
                "{\"text\": \"the cat sat on the mat\"}",
                "{\"prompt\": \"Say hi:\", \"completion\": \" hi there\"}",
                "{\"instruction\": \"Define cat\", \"input\": \"\", \"output\": \"a small animal\"}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", "
                        + "\"content\": \"Hello\"}]}");
        SftOptions options = SftOptions.defaults().withMaxLength(64)
                .withReadLimits(new ReadLimits(4096, 1 << 20));
        new FuzzCampaign("dataset", TIMEOUT_MS, DatasetException.class).run((rnd, i) -> {
            String seed = formats.get(rnd.nextInt(formats.size()));
            JsonNode valid = Mutations.parse(seed);
            StringBuilder text = new StringBuilder();
            int lines = 1 + rnd.nextInt(6);
            for (int l = 0; l < lines; l++) {
                text.append(rnd.nextInt(3) == 0 ? Mutations.json(valid, rnd) : seed).append('\n');
            }
            byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
            if (rnd.nextInt(4) == 0) {
                bytes = Mutations.bytes(bytes, rnd);
            }
            if (rnd.nextInt(4) == 0) {
                java.io.ByteArrayOutputStream gz = new java.io.ByteArrayOutputStream();
                try (GzipCompressorOutputStream out = new GzipCompressorOutputStream(gz)) {
                    out.write(bytes);
                }
                bytes = rnd.nextBoolean() ? gz.toByteArray() : Mutations.bytes(gz.toByteArray(), rnd);
            }
            Path file = caseFile(i, rnd.nextInt(5) == 0 ? "data.json" : "data.jsonl", bytes);
            SftDataset.load(file, tokenizer, rnd.nextBoolean() ? options : options.withSkipBadRecords(true));
        });
    }
}
