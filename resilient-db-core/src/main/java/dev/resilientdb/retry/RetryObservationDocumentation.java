package dev.resilientdb.retry;

import io.micrometer.common.docs.KeyName;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;
import io.micrometer.observation.docs.ObservationDocumentation;

/**
 * The observation of a unit of work that retried: it starts when the first attempt fails and the
 * engine decides to run it again, and stops when the unit of work ends, with each failed attempt as
 * an event. A unit of work that succeeds at once, or fails without a retry, has none, so the success
 * path pays nothing for it. With Spring Boot's observation support the observation is a timer
 * ({@value DefaultRetryObservationConvention#NAME}, by pool, outcome and SQLSTATE class) and, with
 * Micrometer Tracing, a span whose events explain a slow request after a restart.
 */
public enum RetryObservationDocumentation implements ObservationDocumentation {

    /** A unit of work that ran again after a transient failure. */
    RETRIED_UNIT_OF_WORK {

        @Override
        public Class<? extends ObservationConvention<? extends Observation.Context>> getDefaultConvention() {
            return DefaultRetryObservationConvention.class;
        }

        @Override
        public KeyName[] getLowCardinalityKeyNames() {
            return LowCardinalityKeyNames.values();
        }

        @Override
        public KeyName[] getHighCardinalityKeyNames() {
            return HighCardinalityKeyNames.values();
        }

        @Override
        public Observation.Event[] getEvents() {
            return Events.values();
        }

    };

    /** Tags of the timer and of the span. */
    public enum LowCardinalityKeyNames implements KeyName {

        /** The pool the unit of work ran on (its circuit breaker's name). */
        POOL {
            @Override
            public String asString() {
                return "pool";
            }
        },

        /** How the unit of work ended: {@link RetryObservationContext.Outcome#value()}. */
        OUTCOME {
            @Override
            public String asString() {
                return "outcome";
            }
        },

        /** The class (first two characters) of the last failure's SQLSTATE, {@code none} without one. */
        SQLSTATE_CLASS {
            @Override
            public String asString() {
                return "sqlstate.class";
            }
        }

    }

    /** Attributes of the span only. */
    public enum HighCardinalityKeyNames implements KeyName {

        /** Attempts the unit of work made, the first included. */
        ATTEMPTS {
            @Override
            public String asString() {
                return "attempts";
            }
        },

        /** The last failure's SQLSTATE, {@code none} without one. */
        SQLSTATE {
            @Override
            public String asString() {
                return "sqlstate";
            }
        }

    }

    /** What happens during the observation. */
    public enum Events implements Observation.Event {

        /**
         * An attempt failed and the unit of work runs again; its contextual name says which attempt,
         * the SQLSTATE, the exception type and the pause (never SQL, parameters or a message).
         */
        ATTEMPT_FAILED {
            @Override
            public String getName() {
                return "attempt.failed";
            }

            @Override
            public String getContextualName() {
                return "attempt %d failed: SQLSTATE %s (%s), next attempt in %d ms";
            }
        }

    }

}
