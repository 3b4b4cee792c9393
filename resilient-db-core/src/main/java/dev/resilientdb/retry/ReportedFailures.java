package dev.resilientdb.retry;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The failures a retry engine has logged as what a caller gets, so that whoever answers the caller
 * does not log them again. Held weakly (a failure is forgotten with the exception), by identity
 * ({@link Throwable} does not override {@code equals}). Thread-safe.
 */
final class ReportedFailures {

    private static final Map<Throwable, Boolean> reported = Collections.synchronizedMap(new WeakHashMap<>());

    private ReportedFailures() {
    }

    static void add(Throwable failure) {
        reported.put(failure, Boolean.TRUE);
    }

    /** Whether the failure, or one of its causes, was reported. */
    static boolean contains(Throwable failure) {
        for (Throwable current = failure; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (reported.containsKey(current)) {
                return true;
            }
        }
        return false;
    }

}
