package org.jtune.model.cpu;

import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.tensor.Tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs forward and backward over the micro-batches of one optimizer step and sums their LoRA gradients so that the
 * result is the gradient of the mean loss over all labelled tokens of all of them: micro-batch i, whose own loss is
 * the mean over its n_i tokens, is weighted by n_i / N, N being the window's total. Accumulating micro-batches
 * then gives the gradient one batch holding all their rows would give.
 *
 * <p>transformers (≥ 4.46, for models that take {@code num_items_in_batch}) does the same: it fetches the whole
 * window first and divides each micro-batch's summed token loss by the window's count. It counts
 * {@code labels != -100} before the shift, so a row's first label, which nothing predicts, is counted when it is
 * not -100; unsloth's patch and this class count after the shift ({@code labels[..., 1:] != -100}). Older
 * transformers divided each micro-batch's mean by the number of micro-batches, which over-weights tokens of
 * micro-batches with few labels.
 */
final class GradientAccumulation {
    /** Loss and token counts of one window. */
    record Window(double loss, long labelledTokens, long tokens) {}

    private final LoraAdapters lora;
    private final List<String> names;
    private final List<Tensor> sums = new ArrayList<>();

    GradientAccumulation(LoraAdapters lora, Arena arena) {
        this.lora = lora;
        this.names = lora.names();
        for (String name : names) {
            sums.add(Tensor.f32(arena, lora.tensor(name).shape()));
        }
    }

    /** The accumulated gradients, in the order of {@link LoraAdapters#names()}. */
    List<Tensor> gradients() {
        return List.copyOf(sums);
    }

    /**
     * Replaces the accumulated gradients with those of {@code window}, copies them into the adapters' gradient
     * tensors, and returns its loss (0, with zero gradients, when no token of the window is labelled). Micro-batches
     * without labelled tokens are skipped.
     */
    Window accumulate(CpuCausalLm model, List<Batch> window) {
        long total = 0, tokens = 0;
        long[] counts = new long[window.size()];
        for (int i = 0; i < window.size(); i++) {
            counts[i] = window.get(i).labelledTokens();
            total += counts[i];
            tokens += window.get(i).tokenCount();
        }
        for (Tensor s : sums) {
            s.zero();
        }
        double lossSum = 0;
        for (int i = 0; i < window.size(); i++) {
            if (counts[i] == 0) {
                continue;
            }
            lora.zeroGradients();
            float loss = model.forward(window.get(i));
            model.backward();
            lossSum += (double) loss * counts[i];
            addScaled((float) ((double) counts[i] / total));
        }
        for (int t = 0; t < names.size(); t++) {
            lora.gradient(names.get(t)).copyFrom(sums.get(t));
        }
        return new Window(total == 0 ? 0 : lossSum / total, total, tokens);
    }

    private void addScaled(float weight) {
        for (int t = 0; t < names.size(); t++) {
            Tensor g = lora.gradient(names.get(t)), s = sums.get(t);
            for (long i = 0; i < g.size(); i++) {
                s.set(i, s.get(i) + weight * g.get(i));
            }
        }
    }
}
