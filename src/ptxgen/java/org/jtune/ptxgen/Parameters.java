package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The values of a kernel file's parameters: the defaults with some replaced. */
public final class Parameters {
    private final String file;
    private final Map<String, Object> values;

    private Parameters(String file, Map<String, Object> values) {
        this.file = file;
        this.values = values;
    }

    /** The defaults of {@code kernels}, with {@code overrides} (parameter name to text) applied. */
    static Parameters of(KernelFile kernels, Map<String, String> overrides) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, Parameter> known = new LinkedHashMap<>();
        for (Parameter parameter : kernels.parameters()) {
            values.put(parameter.name(), parameter.defaultValue());
            known.put(parameter.name(), parameter);
        }
        overrides.forEach((name, text) -> {
            Parameter parameter = known.get(name);
            if (parameter == null) {
                throw new IllegalArgumentException(kernels.name() + " has no parameter '" + name + "'; it has "
                        + known.keySet());
            }
            values.put(name, parameter.parse(text));
        });
        return new Parameters(kernels.name(), values);
    }

    long integer(String name) {
        return Values.integer(get(name), file + "." + name);
    }

    List<Long> integers(String name) {
        return Values.list(get(name), file + "." + name).stream().map(v -> Values.integer(v, name)).toList();
    }

    /** Fails with a message naming the file and the parameters when a condition on them does not hold. */
    void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(file + ": " + message + " (parameters " + this + ")");
        }
    }

    private Object get(String name) {
        Object value = values.get(name);
        if (value == null) {
            throw new IllegalStateException(file + " reads parameter '" + name + "', which it does not declare");
        }
        return value;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        values.forEach((name, value) -> {
            if (!out.isEmpty()) {
                out.append(' ');
            }
            out.append(name).append('=').append(Parameter.format(value));
        });
        return out.toString();
    }
}
