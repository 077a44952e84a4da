package org.jtune.cli;

import org.jtune.data.SftDataset;
import org.jtune.data.TokenizedExample;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A dataset cut in two: a seeded random {@code fraction} of the examples held out for evaluation, the rest for
 * training (in their original order). The same dataset, fraction and seed give the same split, so a resumed run
 * trains on the same examples.
 */
record EvalSplit(SftDataset train, SftDataset eval) {

    static EvalSplit of(SftDataset all, double fraction, long seed) {
        boolean[] isEval = heldOut(all.size(), fraction, seed);
        List<TokenizedExample> train = new ArrayList<>(), eval = new ArrayList<>();
        for (int i = 0; i < isEval.length; i++) {
            (isEval[i] ? eval : train).add(all.example(i));
        }
        return new EvalSplit(SftDataset.of(train, all.specialTokens(), all.maxLength()),
                SftDataset.of(eval, all.specialTokens(), all.maxLength()));
    }

    /** Which of {@code n} items are held out: a seeded random {@code fraction} of them. */
    static boolean[] heldOut(int n, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("the eval fraction must be between 0 and 1, got " + fraction);
        }
        int held = (int) Math.round(n * fraction);
        if (held == 0 || held == n) {
            throw new IllegalArgumentException("an eval split of " + fraction + " of " + n + " examples leaves "
                    + (held == 0 ? "no example to evaluate on" : "no example to train on"));
        }
        // Fisher-Yates on the indices; the first `held` of the shuffled order are held out.
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        boolean[] isEval = new boolean[n];
        for (int i = 0; i < held; i++) {
            isEval[order[i]] = true;
        }
        return isEval;
    }
}
