package org.jtune.model;

import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.SafetensorsFormatException;
import org.jtune.io.TensorInfo;
import org.jtune.quant.Bnb4bitTensors;
import org.jtune.quant.Nf4Weight;
import org.jtune.quant.TensorSource;
import org.jtune.tensor.DType;
import org.jtune.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The tensors of an open HF checkpoint as model weights, without copying: each tensor wraps its slice of the
 * mapped file (mapped through a shared arena, so the CPU ops may read it from any thread). Linear modules stored
 * in the bnb-4bit layout are read as {@link Nf4Weight}s over the same mapping.
 */
final class CheckpointWeights implements WeightSource, TensorSource {
    private final SafetensorsCheckpoint checkpoint;

    CheckpointWeights(SafetensorsCheckpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    @Override
    public boolean has(String name) {
        return checkpoint.contains(name);
    }

    @Override
    public Tensor tensor(String name) {
        TensorInfo info = info(name);
        if (!info.dtype().isComputeFloat()) {
            String module = name.endsWith(".weight") ? name.substring(0, name.length() - ".weight".length()) : null;
            boolean quantized = module != null && Bnb4bitTensors.isQuantized(this, module);
            throw new ModelConfigException(location(name) + ": tensor " + name + " is " + info.dtype()
                    + (quantized ? " (4-bit quantized; only the q, k, v, o, gate, up and down projections may be)"
                    : "; only F32, BF16 and F16 weights are supported here"));
        }
        return Tensor.wrap(data(name), info.dtype(), info.shape());
    }

    @Override
    public Nf4Weight quantized(String module) {
        if (!Bnb4bitTensors.isQuantized(this, module)) {
            return null;
        }
        try {
            return Bnb4bitTensors.read(this, module);
        } catch (IllegalArgumentException e) {
            throw new ModelConfigException(location(module + ".weight") + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Set<String> names() {
        return new LinkedHashSet<>(checkpoint.names());
    }

    @Override
    public String description() {
        return checkpoint.folder().toString();
    }

    /** The file that holds {@code name}; the folder (with the index, if sharded) if no file does. */
    @Override
    public String location(String name) {
        if (checkpoint.contains(name)) {
            return file(name);
        }
        return (checkpoint.files().size() == 1 ? checkpoint.files().get(0).path()
                : checkpoint.folder().resolve(SafetensorsCheckpoint.INDEX_FILE)).toString();
    }

    @Override
    public DType dtype(String name) {
        return info(name).dtype();
    }

    @Override
    public long[] shape(String name) {
        return info(name).shape();
    }

    @Override
    public MemorySegment data(String name) {
        try {
            return checkpoint.data(name);
        } catch (SafetensorsFormatException e) {
            throw new ModelConfigException(e.getMessage(), e);
        }
    }

    private TensorInfo info(String name) {
        try {
            return checkpoint.info(name);
        } catch (SafetensorsFormatException e) {
            throw new ModelConfigException(e.getMessage(), e);
        }
    }

    private String file(String name) {
        try {
            return checkpoint.fileOf(name).path().toString();
        } catch (SafetensorsFormatException e) {
            throw new ModelConfigException(e.getMessage(), e);
        }
    }
}
