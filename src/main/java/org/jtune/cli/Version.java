package org.jtune.cli;

/** The project version, from the jar manifest (or "dev" when run from classes). */
final class Version {
    private Version() {}

    static String get() {
        String version = Main.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
