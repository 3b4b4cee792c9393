package dev.resilientdb.retry;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and tags the observation of a unit of work that retried; declare a bean of this type to
 * replace {@link DefaultRetryObservationConvention}.
 */
public interface RetryObservationConvention extends ObservationConvention<RetryObservationContext> {

    @Override
    default boolean supportsContext(Observation.Context context) {
        return context instanceof RetryObservationContext;
    }

}
