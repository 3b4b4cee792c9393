package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.RetryAdviceConfigurationException;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains a configuration in which {@code @RetryableTransactional} could not retry as documented:
 * which method, what is wrong, and what to change.
 */
class RetryAdviceConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<RetryAdviceConfigurationException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, RetryAdviceConfigurationException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.getAction(), cause);
    }

}
