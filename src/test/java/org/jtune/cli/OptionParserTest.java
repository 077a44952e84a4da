package org.jtune.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Options under their own, TRL's and transformers' names, with - or _, from the command line, JSON and YAML. */
class OptionParserTest {
    @TempDir
    Path dir;

    private static OptionParser.Parsed sft(String... args) {
        return SftSettings.PARSER.parse(args);
    }

    @Test
    void trlNamesWithDashesOrUnderscoresAreTheSameOptions() {
        Map<String, String> trl = Map.of("learning_rate", "lr", "num_train_epochs", "epochs",
                "output_dir", "output", "per_device_train_batch_size", "batch-size", "gradient_accumulation_steps",
                "grad-accum", "max_length", "max-seq-length", "max_seq_length", "max-seq-length",
                "lr_scheduler_type", "scheduler", "warmup_ratio", "warmup-ratio", "model_name_or_path", "model");
        for (Map.Entry<String, String> e : trl.entrySet()) {
            for (String spelled : List.of(e.getKey(), e.getKey().replace('_', '-'))) {
                OptionParser.Parsed p = sft("--" + spelled, "7");
                assertEquals("7", p.string(e.getValue(), null), spelled);
                assertEquals("--" + spelled, p.origin(e.getValue()), spelled);
                OptionParser.Parsed inline = sft("--" + spelled + "=8");
                assertEquals("8", inline.string(e.getValue(), null), spelled);
            }
        }
        for (String spelled : List.of("logging_steps", "save_steps", "warmup_steps", "lora_r", "weight_decay",
                "max_grad_norm", "eval_steps", "load_in_4bit", "gradient_checkpointing")) {
            assertTrue(sft("--" + spelled, spelled.contains("4bit") || spelled.contains("checkpointing") ? "true" : "3")
                    .has(spelled.replace('_', '-')), spelled);
        }
    }

    @Test
    void flagsTakeAnOptionalBooleanAsHfArgumentParserDoes() {
        assertTrue(sft("--packing").flag("packing", false));
        assertFalse(sft("--packing", "False").flag("packing", true));
        assertFalse(sft("--no-packing").flag("packing", true));
        assertFalse(sft("--no_packing").flag("packing", true));
        assertTrue(sft("--bf16", "--lr", "1e-4").flag("bf16", false));
        assertEquals("1e-4", sft("--bf16", "--lr", "1e-4").string("lr", null));
        assertTrue(sft("--load_in_4bit=True").flag("load-in-4bit", false));
    }

    @Test
    void aYamlConfigAsTrlAndAxolotlWriteThem() throws IOException {
        Path yaml = Files.writeString(dir.resolve("run.yaml"), """
                # TRL-style
                model_name_or_path: acme/tiny
                learning_rate: 2.0e-4
                num_train_epochs: 3
                per_device_train_batch_size: 4
                bf16: true
                packing: false
                lora_target_modules: [q_proj, v_proj]
                datasets:
                  - path: train.jsonl
                    type: alpaca
                """.replace("datasets:", "dataset_name:"));
        OptionParser.Parsed p = sft("--config", yaml.toString(), "--num-train-epochs", "5");
        assertEquals("acme/tiny", p.string("model", null));
        assertEquals(2e-4, p.decimal("lr", 0));
        assertEquals("5", p.string("epochs", null), "the command line wins");
        assertEquals("4", p.string("batch-size", null));
        assertFalse(p.flag("packing", true));
        assertEquals("q_proj,v_proj", p.string("target-modules", null));
        assertEquals(List.of("train.jsonl"), p.list("data"));
        assertEquals(yaml + ": \"learning_rate\"", p.origin("lr"));

        Path json = Files.writeString(dir.resolve("run.json"), "{\"output_dir\": \"o\", \"lora-r\": 8}");
        OptionParser.Parsed j = sft("--config", json.toString());
        assertEquals("o", j.string("output", null));
        assertEquals(8, j.integer("lora-r", 0));
    }

    @Test
    void configMistakesSayWhereWithoutParserInternals() throws IOException {
        Path typo = Files.writeString(dir.resolve("typo.yml"), "learnig_rate: 1e-3\n");
        UsageException e = assertThrows(UsageException.class, () -> sft("--config", typo.toString()));
        assertEquals(typo + ": \"learnig_rate\" is not an option of sft (did you mean \"learning_rate\"?)",
                e.getMessage());

        Path broken = Files.writeString(dir.resolve("broken.yaml"), "lr: 1e-3\n  epochs: [1\n");
        e = assertThrows(UsageException.class, () -> sft("--config", broken.toString()));
        assertTrue(e.getMessage().startsWith(broken + ": not valid YAML at line "), e.getMessage());
        assertFalse(e.getMessage().contains("jackson") || e.getMessage().contains("snakeyaml")
                || e.getMessage().contains("Source:"), e.getMessage());

        Path list = Files.writeString(dir.resolve("list.yaml"), "- lr: 1\n");
        e = assertThrows(UsageException.class, () -> sft("--config", list.toString()));
        assertTrue(e.getMessage().contains("must hold one YAML mapping"), e.getMessage());

        Path badJson = Files.writeString(dir.resolve("bad.json"), "{\"lr\": 1e-3,}");
        e = assertThrows(UsageException.class, () -> sft("--config", badJson.toString()));
        assertTrue(e.getMessage().startsWith(badJson + ": not valid JSON at line 1"), e.getMessage());
    }

    @Test
    void theHelpListsTheOtherNames() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        SftSettings.PARSER.printHelp(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        String help = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
        for (String expected : List.of("--lr X   (also --learning-rate)", "--epochs N   (also --num-train-epochs",
                "--output DIR   (also --output-dir)", "--bf16", "with - or _")) {
            assertTrue(help.contains(expected), expected + "\n" + help);
        }
    }

    @Test
    void theExampleConfigsInJsonAndYamlSayTheSame() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(Path.of("examples/sft-config.yaml")),
                "run from the project root (the image has no examples/)");
        OptionParser.Parsed json = sft("--config", "examples/sft-config.json");
        OptionParser.Parsed yaml = sft("--config", "examples/sft-config.yaml");
        for (String name : List.of("model", "output", "max-seq-length", "batch-size", "grad-accum", "max-steps",
                "scheduler", "eval-steps", "save-steps", "logging-steps", "lora-r", "seed")) {
            assertEquals(json.string(name, null), yaml.string(name, null), name);
        }
        for (String name : List.of("lr", "warmup-ratio", "weight-decay", "eval-split", "lora-alpha")) {
            assertEquals(json.decimal(name, -1), yaml.decimal(name, -2), name);
        }
        assertEquals(json.list("data"), yaml.list("data"));
        assertEquals(json.string("target-modules", null), yaml.string("target-modules", null));
        assertEquals(json.flag("packing", false), yaml.flag("packing", false));
        assertEquals("tensorboard", yaml.string("report-to", null));
        SftSettings.from(yaml); // every value usable
    }
}
