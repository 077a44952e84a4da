package org.jtune.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Test resource folders as paths on the default file system, so that code which maps files can read
 * them also when the tests run from a jar (as in the self-contained image): there they are copied out
 * to a temporary folder once.
 */
public final class TestResources {
    private TestResources() {}

    /** The folder at an absolute class-path location such as "/org/jtune/model/golden/llama_mha", if present. */
    public static Optional<Path> folder(String absoluteResource) {
        URL url = TestResources.class.getResource(absoluteResource);
        if (url == null) {
            return Optional.empty();
        }
        try {
            URI uri = url.toURI();
            if (!uri.getScheme().equals("jar")) {
                return Optional.of(Path.of(uri));
            }
            return Optional.of(extract(uri, absoluteResource));
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad resource URL " + url, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy " + absoluteResource + " out of its jar", e);
        }
    }

    private static synchronized Path extract(URI uri, String resource) throws IOException {
        FileSystem jar;
        try {
            jar = FileSystems.getFileSystem(uri);
        } catch (FileSystemNotFoundException e) {
            jar = FileSystems.newFileSystem(uri, Map.of());
        }
        Path source = jar.getPath(resource);
        Path target = Files.createTempDirectory("jtune-test-resource");
        target.toFile().deleteOnExit();
        try (Stream<Path> files = Files.walk(source)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Path copy = target.resolve(source.relativize(file).toString());
                if (Files.isDirectory(file)) {
                    Files.createDirectories(copy);
                } else {
                    Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING);
                }
                copy.toFile().deleteOnExit();
            }
        }
        return target;
    }
}
