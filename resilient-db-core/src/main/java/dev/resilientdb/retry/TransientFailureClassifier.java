package dev.resilientdb.retry;

/**
 * Decides whether a failed unit of work may be run again. The auto-configured
 * {@link SqlStateFailureClassifier} reads the SQLSTATE; define a bean of this type to replace it.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface TransientFailureClassifier {

    /**
     * Classifies a failure thrown by a unit of work or by its commit.
     * @param failure the failure, as thrown (implementations walk its cause chain)
     * @return the classification, never {@code null}
     */
    FailureClassification classify(Throwable failure);

}
