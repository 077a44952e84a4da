package org.jtune.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Reproduces the expected ids of llama-tokenizer-js's own test suite (its {@code testCase(...)}
 * calls, read from the fetched package) with the real Llama 2 vocabulary.
 */
class Llama2JsPackageTest {
    private record Case(String text, int[] ids) {
    }

    private static List<Case> casesFromPackage() throws IOException {
        String js = Files.readString(NpmTestAssets.fetch(NpmTestAssets.LLAMA2_JS).resolve("llama-tokenizer.js"));
        Matcher m = Pattern.compile("testCase\\(\\s*([\"'])((?:\\\\.|(?!\\1).)*)\\1\\s*,\\s*\\[([\\d\\s,]+)\\]\\s*\\)",
                Pattern.DOTALL).matcher(js);
        List<Case> cases = new ArrayList<>();
        while (m.find()) {
            int[] ids = Arrays.stream(m.group(3).split(",")).map(String::strip).filter(s -> !s.isEmpty())
                    .mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(unescapeJs(m.group(2)), ids));
        }
        return cases;
    }

    private static String unescapeJs(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = s.charAt(++i);
            out.append(switch (e) {
                case 'n' -> '\n';
                case 't' -> '\t';
                case 'r' -> '\r';
                default -> e;
            });
        }
        return out.toString();
    }

    @Test
    void reproducesThePackagesOwnTestCases() throws IOException {
        Tokenizer tok = TestTokenizers.llama2();
        List<Case> cases = casesFromPackage();
        // The package lists 12 encode cases; fewer found means the parsing above broke.
        assertEquals(12, cases.size(), "test cases found in llama-tokenizer.js");
        for (Case c : cases) {
            assertArrayEquals(c.ids(), tok.encodeIds(c.text(), true), "encode(" + c.text() + ")");
            assertEquals(c.text(), tok.decode(c.ids(), true), "decode of the ids of " + c.text());
        }
        assertTrue(cases.stream().anyMatch(c -> c.ids().length > 400), "the long text case is among them");
    }

    @Test
    void decodeKeepsSpecialTokensUnlessSkipped() {
        Tokenizer tok = TestTokenizers.llama2();
        // From the package's decode tests: BOS kept as text when not skipped.
        assertEquals("grabbed", tok.decode(new int[] {1, 2646, 1327, 287}, true));
        assertEquals("<s> grabbed", tok.decode(new int[] {1, 2646, 1327, 287}, false));
    }
}
