package org.jtune.train;

import org.jtune.data.PreferenceBatch;
import org.jtune.model.Batch;
import org.jtune.model.LoraAdapters;
import org.jtune.model.LoraConfig;
import org.jtune.model.LoraTarget;
import org.jtune.model.ReferenceModel;
import org.jtune.model.cpu.CpuEngine;
import org.jtune.tensor.Tensor;
import org.jtune.testing.TestEngines;
import org.jtune.testing.TestFixture;
import org.jtune.testing.TinyModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.jtune.model.cpu.GradCheck.assertClose;
import static org.jtune.model.cpu.GradCheck.numericGradient;
import static org.jtune.model.cpu.GradCheck.toDoubles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One DPO step on a tiny model: its loss and every LoRA gradient against finite differences of the loss computed
 * in double precision from the reference model and the loss formulas written out here; and the precomputed
 * reference against the in-step one.
 */
class DpoObjectiveTest extends TestFixture {
    private static final int MAX_LEN = 9;

    /** Random pairs: a prompt of 1-3 tokens, completions of 1-5 tokens, laid out as the preference collator does. */
    private PreferenceBatch randomPairs(int pairs, int firstExample) {
        int[][] prompt = new int[pairs][], chosen = new int[pairs][], rejected = new int[pairs][];
        int width = 0;
        for (int i = 0; i < pairs; i++) {
            prompt[i] = tokens(1 + rnd.nextInt(3));
            chosen[i] = tokens(1 + rnd.nextInt(5));
            rejected[i] = tokens(1 + rnd.nextInt(5));
            width = Math.max(width, prompt[i].length + Math.max(chosen[i].length, rejected[i].length));
        }
        int[] ids = new int[2 * pairs * width], labels = new int[2 * pairs * width], lengths = new int[2 * pairs];
        Arrays.fill(ids, 2);
        Arrays.fill(labels, -100);
        int[] examples = new int[pairs];
        for (int i = 0; i < pairs; i++) {
            examples[i] = firstExample + i;
            lengths[i] = place(prompt[i], chosen[i], ids, labels, i * width);
            lengths[pairs + i] = place(prompt[i], rejected[i], ids, labels, (pairs + i) * width);
        }
        return new PreferenceBatch(pairs, width, ids, labels, lengths, examples);
    }

    private int[] tokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + rnd.nextInt(TinyModel.CONFIG.vocabSize() - 3);
        }
        return t;
    }

    private static int place(int[] prompt, int[] completion, int[] ids, int[] labels, int at) {
        System.arraycopy(prompt, 0, ids, at, prompt.length);
        System.arraycopy(completion, 0, ids, at + prompt.length, completion.length);
        for (int k = prompt.length; k < prompt.length + completion.length; k++) {
            labels[at + k] = ids[at + k];
        }
        return prompt.length + completion.length;
    }

    private static Map<String, double[]> values(LoraAdapters lora) {
        Map<String, double[]> m = new HashMap<>();
        for (String name : lora.names()) {
            m.put(name, toDoubles(lora.tensor(name).toFloatArray()));
        }
        return m;
    }

    /** The DPO loss of a pair as TRL writes it, from the summed log-probabilities. */
    private static double pairLoss(DpoArguments a, double pc, double pr, double rc, double rr, int nc, int nr) {
        double logits = (pc - rc) - (pr - rr);
        return switch (a.lossType()) {
            case SIGMOID -> -(1 - a.labelSmoothing()) * Math.log(1 / (1 + Math.exp(-a.beta() * logits)))
                    - a.labelSmoothing() * Math.log(1 / (1 + Math.exp(a.beta() * logits)));
            case HINGE -> Math.max(0, 1 - a.beta() * logits);
            case IPO -> Math.pow((pc - rc) / nc - (pr - rr) / nr - 1 / (2 * a.beta()), 2);
        };
    }

    /** Mean loss over all pairs of the window, in double precision. */
    private static double windowLoss(DpoArguments a, List<PreferenceBatch> window, List<ReferenceModel> refs,
                                     List<double[]> referenceLogProbs, Map<String, double[]> lora) {
        double sum = 0;
        int pairs = 0;
        for (int b = 0; b < window.size(); b++) {
            PreferenceBatch pb = window.get(b);
            double[] policy = refs.get(b).sequenceLogProbs(lora), reference = referenceLogProbs.get(b);
            int n = pb.pairs();
            for (int i = 0; i < n; i++) {
                sum += pairLoss(a, policy[i], policy[n + i], reference[i], reference[n + i],
                        labelled(pb, i), labelled(pb, n + i));
            }
            pairs += n;
        }
        return sum / pairs;
    }

    private static int labelled(PreferenceBatch pb, int row) {
        int n = 0;
        for (int t = 1; t < pb.width(); t++) {
            n += pb.labels()[row * pb.width() + t] != -100 ? 1 : 0;
        }
        return n;
    }

    private static final DpoArguments[] CASES = {
            DpoArguments.defaults().withBeta(0.5).withLabelSmoothing(0.2),
            DpoArguments.defaults().withLossType(DpoLossType.IPO).withBeta(0.3),
            DpoArguments.defaults().withLossType(DpoLossType.HINGE).withBeta(0.05)};

    @ParameterizedTest
    @EnumSource(DpoLossType.class)
    void lossAndGradientsMatchFiniteDifferences(DpoLossType type) {
        DpoArguments a = Arrays.stream(CASES).filter(c -> c.lossType() == type).findFirst().orElseThrow();
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        // fewer targets than the model tests (which check every projection's backward) keep this test fast
        LoraConfig lc = new LoraConfig(2, 4, false, EnumSet.of(LoraTarget.Q, LoraTarget.V, LoraTarget.DOWN));
        LoraAdapters lora = new LoraAdapters(TinyModel.CONFIG, lc, arena);
        for (String name : lora.names()) {
            Tensor t = lora.tensor(name);
            for (long i = 0; i < t.size(); i++) {
                t.set(i, (float) (rnd.nextGaussian() * 0.3));
            }
        }
        // two micro-batches of different sizes: the step's loss is the mean over all three pairs
        List<PreferenceBatch> window = List.of(randomPairs(2, 0), randomPairs(1, 2));
        DpoObjective objective = new DpoObjective(a);
        String what = type.trlName() + " (seed " + seed + ")";
        Objective.Step step;
        try (CpuEngine model = TestEngines.cpu(TinyModel.CONFIG, m.weights, lora, 4, MAX_LEN, true)) {
            step = objective.accumulate(model, window);
        }
        List<ReferenceModel> refs = new ArrayList<>();
        List<double[]> referenceLogProbs = new ArrayList<>();
        for (PreferenceBatch pb : window) {
            ReferenceModel ref = new ReferenceModel(TinyModel.CONFIG, m.weights, lc.scaling(),
                    DpoObjective.toModelBatch(pb));
            refs.add(ref);
            referenceLogProbs.add(ref.sequenceLogProbs(Map.of()));
        }
        Map<String, double[]> base = values(lora);
        double expected = windowLoss(a, window, refs, referenceLogProbs, base);
        assertTrue(expected > 1e-3, what + ": the loss is not at a flat spot, " + expected);
        assertEquals(expected, step.loss(), 1e-5 * expected, what + ": loss");
        for (String name : lora.names()) {
            double[] g = numericGradient(base.get(name), x -> {
                Map<String, double[]> probe = new HashMap<>(base);
                probe.put(name, x);
                return windowLoss(a, window, refs, referenceLogProbs, probe);
            });
            assertClose(what + ": gradient of " + name, seed, g, lora.gradient(name).toFloatArray(), 1e-3, 1e-4);
        }
    }

    @Test
    void precomputedReferenceEqualsTheInStepOne() {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.randomAdapters(rnd, arena);
        List<PreferenceBatch> data = List.of(randomPairs(2, 0), randomPairs(2, 2), randomPairs(1, 4));
        // the precomputing pass sees the pairs batched differently from the steps: one pair per batch
        List<PreferenceBatch> singles = new ArrayList<>();
        for (PreferenceBatch pb : data) {
            for (int i = 0; i < pb.pairs(); i++) {
                singles.add(pair(pb, i));
            }
        }
        DpoArguments inStep = DpoArguments.defaults(), precomputed = inStep.withPrecomputeRefLogProbs(true);
        try (CpuEngine model = TestEngines.cpu(TinyModel.CONFIG, m.weights, lora, 4, MAX_LEN, false)) {
            DpoObjective a = new DpoObjective(inStep);
            Objective.Step sa = a.accumulate(model, data);
            List<float[]> ga = lora.gradients().stream().map(t -> t.toFloatArray()).toList();
            Objective.Eval ea = a.evaluate(model, data.iterator());

            DpoObjective b = new DpoObjective(precomputed);
            b.prepare(model, singles.iterator(), data.iterator());
            Objective.Step sb = b.accumulate(model, data);
            Objective.Eval eb = b.evaluate(model, data.iterator());
            assertEquals(sa.loss(), sb.loss(), 1e-12, "seed " + seed);
            assertEquals(sa.metrics().keySet(), sb.metrics().keySet());
            sa.metrics().forEach((k, v) -> assertEquals(v, sb.metrics().get(k), 1e-9, k + ", seed " + seed));
            for (int t = 0; t < ga.size(); t++) {
                assertClose("gradient " + t, seed, toDoubles(ga.get(t)), lora.gradients().get(t).toFloatArray(), 1e-5,
                        1e-6);
            }
            assertEquals(ea.loss(), eb.loss(), 1e-12, "eval, seed " + seed);
            assertTrue(ea.labelledTokens() > 0 && ea.labelledTokens() == eb.labelledTokens());
        }
    }

    /** Pair i of a batch alone, padded to its own width. */
    private static PreferenceBatch pair(PreferenceBatch pb, int i) {
        int w = pb.width(), n = pb.pairs();
        int width = Math.max(pb.lengths()[i], pb.lengths()[n + i]);
        int[] ids = new int[2 * width], labels = new int[2 * width];
        System.arraycopy(pb.inputIds(), i * w, ids, 0, width);
        System.arraycopy(pb.inputIds(), (n + i) * w, ids, width, width);
        System.arraycopy(pb.labels(), i * w, labels, 0, width);
        System.arraycopy(pb.labels(), (n + i) * w, labels, width, width);
        return new PreferenceBatch(1, width, ids, labels, new int[] {pb.lengths()[i], pb.lengths()[n + i]},
                new int[] {pb.examples()[i]});
    }

    @Test
    void zeroBMeansPolicyEqualsReference() {
        TinyModel m = new TinyModel(rnd.nextLong(), arena);
        LoraAdapters lora = TinyModel.initAdapters(rnd.nextLong(), arena); // PEFT's init: B = 0
        List<PreferenceBatch> data = List.of(randomPairs(3, 0));
        try (CpuEngine model = TestEngines.cpu(TinyModel.CONFIG, m.weights, lora, 6, MAX_LEN, false)) {
            Objective.Step s = new DpoObjective(DpoArguments.defaults()).accumulate(model, data);
            assertEquals(Math.log(2), s.loss(), 1e-12, "sigmoid loss at zero margin, seed " + seed);
            assertEquals(0.0, s.metrics().get(DpoObjective.REWARDS_MARGINS), 0.0);
            assertEquals(0.0, s.metrics().get(DpoObjective.REWARDS_ACCURACIES), 0.0);
            Batch batch = DpoObjective.toModelBatch(data.get(0));
            double[] logps = model.policyLogProbs(batch);
            assertEquals(logps[0], s.metrics().get(DpoObjective.LOGPS_CHOSEN) * 3
                    - logps[1] - logps[2], 1e-9);
            assertArrayEquals(new long[] {labelled(data.get(0), 0), labelled(data.get(0), 1), labelled(data.get(0), 2),
                    labelled(data.get(0), 3), labelled(data.get(0), 4), labelled(data.get(0), 5)},
                    DpoObjective.completionTokens(batch));
        }
    }
}
