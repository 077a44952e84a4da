package org.jtune.quant;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jtune.tensor.DType;

/** A TensorSource over tensors held in memory, for tests. */
final class MemoryTensorSource implements TensorSource {
    final Map<String, NamedTensor> tensors = new LinkedHashMap<>();

    MemoryTensorSource(List<NamedTensor> list) {
        list.forEach(this::put);
    }

    void put(NamedTensor t) {
        tensors.put(t.name(), t);
    }

    @Override
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public DType dtype(String name) {
        return tensors.get(name).dtype();
    }

    @Override
    public long[] shape(String name) {
        return tensors.get(name).shape();
    }

    @Override
    public MemorySegment data(String name) {
        return tensors.get(name).data();
    }
}
