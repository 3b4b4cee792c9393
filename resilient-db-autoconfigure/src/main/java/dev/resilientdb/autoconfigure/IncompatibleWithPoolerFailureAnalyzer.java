package dev.resilientdb.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains a pool setting that cannot work behind the configured connection pooler: which setting,
 * why, and what to change.
 */
class IncompatibleWithPoolerFailureAnalyzer extends AbstractFailureAnalyzer<IncompatibleWithPoolerException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, IncompatibleWithPoolerException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.getAction(), cause);
    }

}
