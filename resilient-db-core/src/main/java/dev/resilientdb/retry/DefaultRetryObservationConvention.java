package dev.resilientdb.retry;

import dev.resilientdb.retry.RetryObservationDocumentation.HighCardinalityKeyNames;
import dev.resilientdb.retry.RetryObservationDocumentation.LowCardinalityKeyNames;
import io.micrometer.common.KeyValues;

/**
 * The default names and tags of the observation of a unit of work that retried: {@value #NAME}, tagged
 * with the pool, the outcome and the SQLSTATE class of the last failure; the attempts and the full
 * SQLSTATE on the span only.
 */
public class DefaultRetryObservationConvention implements RetryObservationConvention {

    /** The observation's name, and so the timer's. */
    public static final String NAME = "resilientdb.retry";

    private static final String NONE = "none";

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public String getContextualName(RetryObservationContext context) {
        return "retry " + context.getPool();
    }

    @Override
    public KeyValues getLowCardinalityKeyValues(RetryObservationContext context) {
        Throwable failure = context.getLastFailure();
        return KeyValues.of(LowCardinalityKeyNames.POOL.withValue(context.getPool()),
                LowCardinalityKeyNames.OUTCOME.withValue(context.getOutcome().value()),
                LowCardinalityKeyNames.SQLSTATE_CLASS.withValue((failure != null) ? SqlStates.classOf(failure) : NONE));
    }

    @Override
    public KeyValues getHighCardinalityKeyValues(RetryObservationContext context) {
        Throwable failure = context.getLastFailure();
        String state = (failure != null) ? SqlStates.of(failure) : null;
        return KeyValues.of(HighCardinalityKeyNames.ATTEMPTS.withValue(String.valueOf(context.getAttempts())),
                HighCardinalityKeyNames.SQLSTATE.withValue((state != null) ? state : NONE));
    }

}
