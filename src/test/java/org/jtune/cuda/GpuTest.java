package org.jtune.cuda;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a test class or method that needs a GPU: tagged "gpu", and skipped with the reason where
 * {@link Cuda#status()} finds none.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(GpuTest.NeedsGpu.class)
public @interface GpuTest {

    /** Skips the test where no GPU is usable. */
    final class NeedsGpu implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Cuda.Status status = Cuda.status();
            return status.available()
                    ? ConditionEvaluationResult.enabled("GPU found")
                    : ConditionEvaluationResult.disabled("GPU test skipped: " + status.reason());
        }
    }
}
