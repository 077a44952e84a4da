package org.jtune.model;

import org.jtune.tensor.Tensor;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Named tensors a model is built from (a safetensors checkpoint, or weights made in memory). The tensors returned
 * must stay valid, and readable from any thread, for as long as the model uses them.
 */
public interface WeightSource {

    /** Whether a tensor of this name exists. */
    boolean has(String name);

    /** The tensor {@code name} with its stored dtype and shape; throws if absent. */
    Tensor tensor(String name);

    /** All tensor names. */
    Set<String> names();

    /** What the weights come from (a file or folder), for error messages. */
    String description();

    /** A source over tensors already in memory. */
    static WeightSource of(Map<String, Tensor> tensors, String description) {
        Map<String, Tensor> copy = Map.copyOf(tensors);
        return new WeightSource() {
            @Override
            public boolean has(String name) {
                return copy.containsKey(name);
            }

            @Override
            public Tensor tensor(String name) {
                Tensor t = copy.get(name);
                if (t == null) {
                    throw new IllegalArgumentException(description + ": no tensor named " + name);
                }
                return t;
            }

            @Override
            public Set<String> names() {
                return new TreeSet<>(copy.keySet());
            }

            @Override
            public String description() {
                return description;
            }
        };
    }
}
