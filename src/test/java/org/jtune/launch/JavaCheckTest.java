package org.jtune.launch;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jar's entry point on a Java too old for jtune: a message that says what to install, exit code 1. */
class JavaCheckTest {
    @Test
    void olderJavasAreToldWhatToInstall() {
        for (String old : List.of("1.8", "11", "17", "21")) {
            String m = JavaCheck.problem(old, "/opt/java-" + old);
            assertTrue(m.startsWith("jtune needs Java 22 or newer, but this is Java " + old + " (/opt/java-" + old + ")"),
                    m);
            assertTrue(m.contains("Install a JDK 22+") && m.contains("JAVA_HOME"), m);
        }
        for (String ok : List.of("22", "24", "25", "31")) {
            assertNull(JavaCheck.problem(ok, "/opt/java"), ok);
        }
    }

    @Test
    void theClassRunsOnAnOldJavaAndSaysSo() throws IOException, InterruptedException {
        Path old = oldJava();
        Assumptions.assumeTrue(old != null, "no Java older than 22 installed under /usr/lib/jvm to run it with");
        Path classes = Path.of(JavaCheck.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        Process p = new ProcessBuilder(old.toString(), "-cp", classes.toString(), JavaCheck.class.getName(), "info")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.waitFor(), out);
        assertTrue(out.startsWith("jtune needs Java 22 or newer, but this is Java "), out);
        assertTrue(!out.contains("UnsupportedClassVersionError"), out);
    }

    /** A java binary of a JDK older than 22, where the machine has one (Debian's default 17, say). */
    private static Path oldJava() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return null;
        }
        try (Stream<Path> all = Files.list(jvms)) {
            return all.filter(d -> d.getFileName().toString().matches(".*-(1[1-9]|2[01])-.*|.*-1\\.8\\.0.*"))
                    .map(d -> d.resolve("bin/java")).filter(Files::isExecutable).findFirst().orElse(null);
        }
    }
}
