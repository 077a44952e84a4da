package org.jtune.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The generated NCCL class binds exactly what bindings/nccl-symbols.txt lists: read by reflection without
 * initialising the class (which would load the library), so it runs where NCCL is absent.
 */
class NcclBindingsTest {
    private static final Path SYMBOLS = Path.of("bindings/nccl-symbols.txt");
    private static final String NCCL = "org.jtune.bindings.nccl.Nccl";

    @Test
    void functionsAndConstantsAreExactlyTheListedOnes() throws Exception {
        assumeTrue(Files.isRegularFile(SYMBOLS), "run from the repository root");
        Class<?> nccl = Class.forName(NCCL, false, getClass().getClassLoader());
        Set<String> functions = new TreeSet<>(), constants = new TreeSet<>();
        for (Method m : nccl.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || !Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            if (m.getName().endsWith("$descriptor")) {
                functions.add(m.getName().substring(0, m.getName().length() - "$descriptor".length()));
            } else if (m.getParameterCount() == 0 && m.getReturnType() == int.class) {
                constants.add(m.getName());
            }
        }
        // Functions declared with "()" are variadic in C: a nested invoker class each.
        for (Class<?> c : nccl.getDeclaredClasses()) {
            if (Modifier.isPublic(c.getModifiers()) && hasMethod(c, "makeInvoker")) {
                functions.add(c.getSimpleName());
            }
        }
        assertEquals(listed("--include-function"), functions, "functions of " + NCCL);
        assertEquals(listed("--include-constant"), constants, "constants of " + NCCL);
        for (String type : listed("--include-typedef")) {
            assertTrue(hasField(nccl, type) || classExists("org.jtune.bindings.nccl." + type),
                    "typedef " + type + " bound");
        }
        for (String struct : listed("--include-struct")) {
            assertTrue(classExists("org.jtune.bindings.nccl." + struct), "struct " + struct + " bound");
        }
    }

    @Test
    void theListNamesWhatTheCommunicatorNeeds() throws IOException {
        assumeTrue(Files.isRegularFile(SYMBOLS), "run from the repository root");
        Set<String> functions = listed("--include-function");
        for (String f : List.of("ncclGetUniqueId", "ncclCommInitRank", "ncclCommInitRankConfig", "ncclAllReduce",
                "ncclBroadcast", "ncclGroupStart", "ncclGroupEnd", "ncclCommDestroy", "ncclCommAbort",
                "ncclGetErrorString", "ncclGetLastError", "ncclCommGetAsyncError", "ncclGetVersion")) {
            assertTrue(functions.contains(f), f + " listed");
        }
    }

    private static Set<String> listed(String option) throws IOException {
        Set<String> names = new TreeSet<>();
        for (String line : Files.readAllLines(SYMBOLS)) {
            String[] parts = line.strip().split("\\s+");
            if (parts.length == 2 && parts[0].equals(option)) {
                names.add(parts[1]);
            }
        }
        return names;
    }

    private static boolean hasMethod(Class<?> c, String name) {
        for (Method m : c.getDeclaredMethods()) {
            if (m.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasField(Class<?> c, String name) {
        try {
            c.getDeclaredField(name);
            return true;
        } catch (NoSuchFieldException e) {
            return false;
        }
    }

    private static boolean classExists(String name) {
        try {
            Class.forName(name, false, NcclBindingsTest.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
