package org.jtune.cli;

import org.jtune.data.SftDataset;
import org.jtune.data.SpecialTokens;
import org.jtune.data.TokenizedExample;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The eval split: disjoint, complete, of the asked size, the same for the same seed. */
class EvalSplitTest {
    private static SftDataset numbered(int n) {
        List<TokenizedExample> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new TokenizedExample(new int[] {i, i + 1}, new boolean[] {false, true}));
        }
        return SftDataset.of(list, new SpecialTokens(1, 0), 16);
    }

    private static List<Integer> ids(SftDataset d) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) {
            ids.add(d.example(i).ids()[0]);
        }
        return ids;
    }

    @Test
    void splitsDisjointlyAndReproducibly() {
        long seed = System.nanoTime();
        SftDataset all = numbered(101);
        EvalSplit split = EvalSplit.of(all, 0.2, seed);
        assertEquals(20, split.eval().size(), "seed " + seed);
        assertEquals(81, split.train().size());
        Set<Integer> seen = new HashSet<>(ids(split.train()));
        for (int id : ids(split.eval())) {
            assertTrue(seen.add(id), "example " + id + " in both, seed " + seed);
        }
        assertEquals(101, seen.size());
        List<Integer> train = ids(split.train());
        assertEquals(train.stream().sorted().toList(), train, "training examples keep their order");
        assertEquals(ids(split.eval()), ids(EvalSplit.of(all, 0.2, seed).eval()));
        assertNotEquals(ids(split.eval()), ids(EvalSplit.of(all, 0.2, seed + 1).eval()));
        assertThrows(IllegalArgumentException.class, () -> EvalSplit.of(numbered(3), 0.1, seed));
    }
}
