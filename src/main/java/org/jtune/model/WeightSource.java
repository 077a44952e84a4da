package org.jtune.model;

import org.jtune.quant.Nf4Weight;
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

    /**
     * The weight of the linear module {@code module} (e.g. {@code model.layers.0.mlp.up_proj}) if the source holds
     * it 4-bit quantized, else null. Sources in memory hold no quantized weights.
     */
    default Nf4Weight quantized(String module) {
        return null;
    }

    /** All tensor names. */
    Set<String> names();

    /** What the weights come from (a file or folder), for error messages. */
    String description();

    /** Where tensor {@code name} is or would be (the file holding it), for error messages; the source by default. */
    default String location(String name) {
        return description();
    }

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
