package org.jtune.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Splits a byte stream into lines ('\n', with a '\r' before it dropped) and decodes each one as
 * UTF-8 on its own, so a line with invalid bytes is known by its number and the next lines still read.
 */
final class Utf8Lines {
    /** A line's bytes were not valid UTF-8. */
    static final class InvalidLine extends Exception {
        InvalidLine(String message) {
            super(message);
        }
    }

    private final InputStream in;
    private final long maxLineBytes;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] line = new byte[256];
    private boolean ended;

    Utf8Lines(InputStream in, long maxLineBytes) {
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    /** The next line, or null at the end of the stream. */
    String next() throws IOException, InvalidLine {
        if (ended) {
            return null;
        }
        int n = 0;
        int b;
        long length = 0;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (++length > maxLineBytes) {
                continue; // the rest of an over-long line is read past, not kept
            }
            if (n == line.length) {
                line = Arrays.copyOf(line, (int) Math.min((long) n * 2, maxLineBytes));
            }
            line[n++] = (byte) b;
        }
        if (length > maxLineBytes) {
            ended = b < 0;
            throw new InvalidLine("the line is longer than " + maxLineBytes + " bytes; --max-line-bytes raises the cap");
        }
        if (b < 0) {
            ended = true;
            if (n == 0) {
                return null;
            }
        }
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        try {
            return decoder.decode(ByteBuffer.wrap(line, 0, n)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidLine("not valid UTF-8 text");
        }
    }
}
