package org.jtune.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Serializes JSON the way Python's {@code json.dumps(obj, indent=2, sort_keys=True)} does (the form of
 * Hugging Face's {@code adapter_config.json} and {@code *.index.json}): ": " after keys, two-space indent,
 * non-ASCII escaped as {@code \\uXXXX}, floats as Python's {@code repr}.
 */
public final class PythonJson {
    private PythonJson() {}

    /** {@code json.dumps(node, indent=2, sort_keys=True)}. */
    public static String dumpsSorted(JsonNode node) {
        StringBuilder out = new StringBuilder();
        write(node, 0, out);
        return out.toString();
    }

    private static void write(JsonNode node, int level, StringBuilder out) {
        if (node.isObject()) {
            List<Map.Entry<String, JsonNode>> entries = new ArrayList<>(node.properties());
            entries.sort(Map.Entry.comparingByKey());
            writeContainer('{', '}', entries.size(), level, out, i -> {
                writeString(entries.get(i).getKey(), out);
                out.append(": ");
                write(entries.get(i).getValue(), level + 1, out);
            });
        } else if (node.isArray()) {
            writeContainer('[', ']', node.size(), level, out, i -> write(node.get(i), level + 1, out));
        } else if (node.isTextual()) {
            writeString(node.textValue(), out);
        } else if (node.isIntegralNumber()) {
            out.append(node.bigIntegerValue());
        } else if (node.isNumber()) {
            out.append(floatRepr(node.doubleValue()));
        } else if (node.isBoolean()) {
            out.append(node.booleanValue() ? "true" : "false");
        } else if (node.isNull()) {
            out.append("null");
        } else {
            throw new IllegalArgumentException("cannot write JSON node of type " + node.getNodeType());
        }
    }

    private static void writeContainer(char open, char close, int size, int level, StringBuilder out,
            java.util.function.IntConsumer item) {
        if (size == 0) {
            out.append(open).append(close);
            return;
        }
        out.append(open);
        for (int i = 0; i < size; i++) {
            out.append(i == 0 ? "\n" : ",\n").append("  ".repeat(level + 1));
            item.accept(i);
        }
        out.append('\n').append("  ".repeat(level)).append(close);
    }

    /** Python's {@code ensure_ascii} string form: everything outside ' '..'~' escaped. */
    private static void writeString(String text, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < ' ' || c > '~') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest digits that round-trip (as Java's {@link Double#toString}),
     * positional when the decimal exponent is in (-4, 16], else {@code d.ddde[+-]XX}.
     */
    static String floatRepr(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        String sign = (value < 0 || (value == 0 && 1 / value < 0)) ? "-" : "";
        if (value == 0) {
            return sign + "0.0";
        }
        BigDecimal decimal = new BigDecimal(Double.toString(Math.abs(value))).stripTrailingZeros();
        String digits = decimal.unscaledValue().toString();
        int pointPosition = digits.length() - decimal.scale(); // value = 0.DIGITS * 10^pointPosition
        if (pointPosition > -4 && pointPosition <= 16) {
            if (pointPosition <= 0) {
                return sign + "0." + "0".repeat(-pointPosition) + digits;
            }
            if (pointPosition >= digits.length()) {
                return sign + digits + "0".repeat(pointPosition - digits.length()) + ".0";
            }
            return sign + digits.substring(0, pointPosition) + "." + digits.substring(pointPosition);
        }
        int exponent = pointPosition - 1;
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
