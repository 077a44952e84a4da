package org.jtune.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PTX text comes from the override folder where it holds the file, from the jar otherwise. */
class PtxFilesTest {

    @AfterEach
    void clearOverride() {
        System.clearProperty(PtxFiles.OVERRIDE_PROPERTY);
    }

    @Test
    void packagedFileWithoutOverride() throws Exception {
        PtxFiles.Text text = PtxFiles.read("fill");
        assertEquals("fill.ptx", text.origin());
        assertEquals(Files.readString(Path.of("src/main/ptx/fill.ptx")), text.ptx());
    }

    @Test
    void overrideFolderReplacesOnlyTheFilesItHolds(@TempDir Path folder) throws Exception {
        String variant = "// variant " + UUID.randomUUID() + "\n.version 8.0\n.target sm_80\n";
        Files.writeString(folder.resolve("gemm_bf16.ptx"), variant);
        System.setProperty(PtxFiles.OVERRIDE_PROPERTY, folder.toString());
        PtxFiles.Text replaced = PtxFiles.read("gemm_bf16");
        assertEquals(variant, replaced.ptx());
        assertEquals(folder.resolve("gemm_bf16.ptx").toString(), replaced.origin());
        PtxFiles.Text packaged = PtxFiles.read("fill");
        assertEquals(Files.readString(Path.of("src/main/ptx/fill.ptx")), packaged.ptx());
    }

    @Test
    void overrideThatIsNotAFolderIsAnError(@TempDir Path folder) {
        Path missing = folder.resolve("no-such-folder");
        System.setProperty(PtxFiles.OVERRIDE_PROPERTY, missing.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PtxFiles.read("fill"));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("not a folder"),
                e.getMessage());
    }

    @Test
    void unknownFileIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PtxFiles.read("no_such_kernel"));
        assertTrue(e.getMessage().contains("no_such_kernel.ptx"), e.getMessage());
    }
}
