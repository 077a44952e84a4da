package org.jtune.serve;

import org.jtune.generate.Generation;

/** One sequence of a request: which choice it is, its prompt's length, and its generation once queued. */
final class Choice {
    final int index;
    final int[] prompt;
    Generation generation;

    Choice(int index, int[] prompt) {
        this.index = index;
        this.prompt = prompt;
    }
}
