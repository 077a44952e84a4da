package org.jtune.parallel.nccl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import org.jtune.bindings.nccl.Nccl;

/**
 * Entry to NCCL. The library is looked up on first use; where it is missing, {@link #status()} says why and nothing
 * touches the bindings (their class loads the library in its static initializer, which would fail).
 */
public final class NcclLibrary {
    /** The soname NCCL installs and the bindings load. */
    public static final String LIBRARY = "libnccl.so.2";
    /** NCCL 2.14: the first with non-blocking communicators (the config's {@code blocking}), which abort needs. */
    static final int OLDEST_VERSION = 21400;

    private static Status status;

    private NcclLibrary() {}

    /**
     * Whether NCCL can be used; if not, {@code reason} says why in one line.
     *
     * @param version the library's {@code NCCL_VERSION_CODE}, e.g. 23007 for 2.30.7; 0 when unavailable
     */
    public record Status(boolean available, String reason, int version) {
        /** The version as "major.minor.patch". */
        public String versionString() {
            return formatVersion(version);
        }
    }

    /** Looks the library up once and reports what it found. Never throws. */
    public static synchronized Status status() {
        if (status == null) {
            status = probe();
        }
        return status;
    }

    public static boolean isAvailable() {
        return status().available();
    }

    /** Throws an {@link IllegalStateException} saying why, unless NCCL is usable. */
    public static void requireAvailable() {
        Status s = status();
        if (!s.available()) {
            throw new IllegalStateException("NCCL is not usable: " + s.reason());
        }
    }

    /** {@code NCCL_VERSION_CODE} as "major.minor.patch" (codes before 2.9 had one digit less for the minor). */
    static String formatVersion(int code) {
        return code >= 10000 ? code / 10000 + "." + code / 100 % 100 + "." + code % 100
                : code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    private static Status probe() {
        try {
            SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            return new Status(false, LIBRARY + " not found (install NCCL, or put the folder holding "
                    + LIBRARY + " on LD_LIBRARY_PATH)", 0);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            int result = Nccl.ncclGetVersion(out);
            if (result != Nccl.ncclSuccess()) {
                return new Status(false, "ncclGetVersion failed with code " + result, 0);
            }
            int version = out.get(ValueLayout.JAVA_INT, 0);
            if (version < OLDEST_VERSION) {
                return new Status(false, LIBRARY + " is NCCL " + formatVersion(version) + "; jtune needs "
                        + formatVersion(OLDEST_VERSION) + " or later", version);
            }
            return new Status(true, "", version);
        } catch (RuntimeException | LinkageError e) {
            return new Status(false, LIBRARY + " could not be used: " + e, 0);
        }
    }
}
