package org.jtune.train;

import org.jtune.io.SafetensorsCheckpoint;
import org.jtune.io.SafetensorsFormatException;
import org.jtune.io.TensorInfo;
import org.jtune.model.WeightSource;
import org.jtune.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The tensors of a safetensors checkpoint folder as a {@link WeightSource} (mapped; valid until closed). */
final class CheckpointWeights implements AutoCloseable {
    private final SafetensorsCheckpoint checkpoint;
    final WeightSource source;

    CheckpointWeights(Path folder) throws IOException {
        checkpoint = SafetensorsCheckpoint.open(folder);
        Map<String, Tensor> tensors = new HashMap<>();
        try {
            for (String name : checkpoint.names()) {
                TensorInfo info = checkpoint.info(name);
                tensors.put(name, Tensor.wrap(checkpoint.data(name), info.dtype(), info.shape()));
            }
        } catch (SafetensorsFormatException e) {
            throw new UncheckedIOException(e);
        }
        source = WeightSource.of(tensors, folder.toString());
    }

    @Override
    public void close() {
        checkpoint.close();
    }
}
