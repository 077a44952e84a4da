package org.jtune.generate;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text is held back while it may be the start of a stop string, and ends before the first stop string. */
class StopStringsTest {

    @Test
    void holdsBackAPossibleStartAndCutsAtTheStop() {
        StopStrings s = new StopStrings(List.of("\nUser:", "###"));
        assertEquals("Hello", s.add("Hello"));
        assertEquals(" there", s.add(" there\n"));     // "\n" may start "\nUser:"
        assertEquals("", s.add("Us"));                  // "\nUs" still may
        assertEquals("\nUsual", s.add("ual"));          // it did not
        assertEquals("", s.add("#"));
        assertEquals("## ok", s.add("# ok"));           // "##" then " ok": never "###"
        assertFalse(s.stopped());
    }

    @Test
    void stopsAcrossPieces() {
        StopStrings s = new StopStrings(List.of("</answer>"));
        StringBuilder shown = new StringBuilder();
        for (String piece : List.of("The answer is 4.", "</ans", "wer>", " more text")) {
            shown.append(s.add(piece));
        }
        assertTrue(s.stopped());
        assertEquals("The answer is 4.", shown.toString());
        assertEquals("", s.flush());
    }

    @Test
    void theEarliestStopWins() {
        StopStrings s = new StopStrings(List.of("bb", "a"));
        assertEquals("x", s.add("xbba"));
        assertTrue(s.stopped());
    }

    @Test
    void flushReleasesWhatDidNotBecomeAStop() {
        StopStrings s = new StopStrings(List.of("STOP"));
        assertEquals("go ", s.add("go ST"));
        assertEquals("ST", s.flush());
        assertFalse(s.stopped());
    }
}
