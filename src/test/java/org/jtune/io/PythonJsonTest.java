package org.jtune.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Python's json.dumps(indent=2, sort_keys=True) and repr(float), from known Python outputs. */
class PythonJsonTest {
    @Test
    void floatReprMatchesPython() {
        String[][] cases = {{"0.05", "0.05"}, {"1e-5", "1e-05"}, {"1e16", "1e+16"}, {"1e15", "1000000000000000.0"},
                {"0.30000000000000004", "0.30000000000000004"}, {"123456789.125", "123456789.125"},
                {"-0.0", "-0.0"}, {"1.5e-10", "1.5e-10"}, {"2.5e20", "2.5e+20"}, {"0.0001", "0.0001"},
                {"100", "100.0"}, {"0.3333333333333333", "0.3333333333333333"}, {"-7.25", "-7.25"}};
        for (String[] c : cases) {
            assertEquals(c[1], PythonJson.floatRepr(Double.parseDouble(c[0])), c[0]);
        }
    }

    @Test
    void dumpsSortsIndentsAndEscapesLikePython() throws IOException {
        var node = new ObjectMapper().readTree("{\"b\":[1,{\"x\":\"\u00e9\uD83D\uDE00\u007f\\\"\\n\"}],\"a\":{},\"c\":[]}");
        String expected = """
                {
                  "a": {},
                  "b": [
                    1,
                    {
                      "x": "\\u00e9\\ud83d\\ude00\\u007f\\"\\n"
                    }
                  ],
                  "c": []
                }""";
        assertEquals(expected, PythonJson.dumpsSorted(node));
    }
}
