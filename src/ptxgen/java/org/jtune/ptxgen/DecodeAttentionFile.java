package org.jtune.ptxgen;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code decode_attention.ptx}: attention of new tokens over the key/value cache, split along the sequence. The
 * launcher ({@code DecodeAttention}) fixes 128 threads and head dimensions 64 and 128; a variant changes how many
 * keys each lane group has in flight per step of its loop ({@code keys}).
 */
final class DecodeAttentionFile implements KernelFile {

    @Override
    public String name() {
        return "decode_attention";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.integer("keys", 2, "keys a lane group loads and scores per step, 1 to 4"));
    }

    @Override
    public Map<String, Object> variables(Parameters p) {
        long keys = p.integer("keys");
        p.require(keys >= 1 && keys <= 4, "keys must be 1 to 4");
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("KEYS", keys);
        return v;
    }
}
