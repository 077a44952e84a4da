package org.jtune.cli;

import static org.jtune.cli.CliFixture.records;
import static org.jtune.cli.CliFixture.writeLines;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The findings of a hostile-but-fair user's run through the real command line, each replayed: the
 * run must end with a clear message and a non-zero exit, and write nothing it should not.
 */
class HostileInputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path temp;

    private Path modelWithTemplate(String name, String template) throws IOException {
        Path model = CliFixture.tinyModel(temp.resolve(name));
        Path config = model.resolve("tokenizer_config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(config.toFile());
        c.put("chat_template", template);
        JSON.writeValue(config.toFile(), c);
        return model;
    }

    @Test
    void hostileChatTemplatesEndInAClearErrorNamingTheTemplate() throws IOException {
        Path data = writeLines(temp.resolve("chat.jsonl"), records("messages", 4, 1));
        List<String> templates = List.of(
                "{% set ns = namespace(s='aaaaaaaaaa') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                        + "{% endfor %}{{ ns.s|length }}",
                "{{ 'a'.repeat(1000000000) }}",
                "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% for d in range(1000) %}"
                        + "{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
                "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                        + "{% endfor %}{% endfor %}{% endfor %}",
                "{% include 'org/jtune/cli/Main.class' %}");
        for (int i = 0; i < templates.size(); i++) {
            Path model = modelWithTemplate("m" + i, templates.get(i));
            long start = System.nanoTime();
            CliFixture.Result r = CliFixture.train("sft", model, temp.resolve("out" + i), 64, 1, "--data",
                    data.toString(), "--max-steps", "1");
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            assertEquals(1, r.exitCode(), templates.get(i) + "\n" + r);
            assertTrue(r.err().contains(model.resolve("tokenizer.json").toString()), "names the template's folder\n" + r);
            assertTrue(r.err().contains("chat template") , r.toString());
            assertTrue(seconds < 30, "ends in seconds, took " + seconds);
            assertFalse(Files.exists(temp.resolve("out" + i).resolve("adapter")), "no adapter written\n" + r);
        }
    }

    @Test
    void jvmErrorsEndWithAMessageAndANonZeroExit() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run("sft", new Main.Command() {
                @Override
                public String summary() {
                    return "throws";
                }

                @Override
                public int run(String[] args, PrintStream out) {
                    throw new OutOfMemoryError("Java heap space");
                }
            }, new String[0], System.out, e);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(3, code);
        assertTrue(text.contains("jtune sft: out of Java heap memory (Java heap space)"), text);
        assertTrue(text.contains("-Xmx"), text);
    }
}
