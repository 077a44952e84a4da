package org.jtune.train;

/** A weight about to be written is NaN or infinite: the inputs it came from are not usable. */
public final class NonFiniteWeightException extends IllegalArgumentException {
    public NonFiniteWeightException(String message) {
        super(message);
    }
}
