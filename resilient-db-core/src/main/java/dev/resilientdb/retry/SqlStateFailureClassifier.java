package dev.resilientdb.retry;

import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.util.Collection;
import java.util.List;
import java.util.Set;

import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.dao.TransientDataAccessException;

/**
 * Classifies failures by PostgreSQL SQLSTATE first and by exception type second, walking the whole
 * cause chain. Thread-safe.
 * <p>
 * Transient (retried): class 08 (connection exceptions), 53300 {@code too_many_connections}, 57P01
 * {@code admin_shutdown}, 57P02 {@code crash_shutdown}, 57P03 {@code cannot_connect_now}, 40001
 * {@code serialization_failure}, 40P01 {@code deadlock_detected}, 25006 {@code read_only_sql_transaction}
 * (a write on a connection to a server that a failover demoted: the server refused the statement, so nothing
 * of it committed, and the pool has evicted the connection; the engine does not retry 25006 where the
 * application declared the transaction read-only, its own doing); without a SQLSTATE, an exhausted
 * pool ({@link SQLTransientConnectionException}), a {@link SQLRecoverableException}, an
 * optimistic-locking conflict ({@link #isOptimisticLockingFailure}), or any of
 * Spring's {@link TransientDataAccessException}s (pgjdbc reports I/O errors as class 08). Note that Spring
 * translates class 08, 53300 and 57P0x into the non-transient {@code DataAccessResourceFailureException},
 * which is why the SQLSTATE is read first.
 * <p>
 * Never retried: classes 22 (data), 23 (integrity), 28 (authentication), 42 (syntax and access),
 * 57014 (statement timeout: the same statement would time out again), and anything not listed.
 * <p>
 * Commit outcome unknown: 08007 {@code transaction_resolution_unknown}, and any
 * {@link CommitOutcomeUnknownException} in the chain.
 * <p>
 * Extra SQLSTATEs (five characters) or classes (two characters) can be made retryable or
 * non-retryable; non-retryable wins.
 */
public class SqlStateFailureClassifier implements TransientFailureClassifier {

    private static final Set<String> TRANSIENT_STATES = Set.of("53300", "57P01", "57P02", "57P03", "40001", "40P01",
            SqlStates.READ_ONLY_SQL_TRANSACTION);

    private static final Set<String> TRANSIENT_CLASSES = Set.of("08");

    private static final Set<String> NOT_TRANSIENT_STATES = Set.of("57014");

    private static final Set<String> NOT_TRANSIENT_CLASSES = Set.of("22", "23", "28", "42");

    private static final String TRANSACTION_RESOLUTION_UNKNOWN = "08007";

    private static final Set<String> UNTRANSLATED_OPTIMISTIC_LOCK_FAILURES = Set.of(
            "jakarta.persistence.OptimisticLockException", "org.hibernate.StaleStateException");

    private final List<String> extraRetryable;

    private final List<String> extraNonRetryable;

    /** A classifier with the default rules only. */
    public SqlStateFailureClassifier() {
        this(List.of(), List.of());
    }

    /**
     * A classifier with extra rules.
     * @param extraRetryable SQLSTATEs or two-character classes to retry as well
     * @param extraNonRetryable SQLSTATEs or two-character classes never to retry; wins over everything else
     */
    public SqlStateFailureClassifier(Collection<String> extraRetryable, Collection<String> extraNonRetryable) {
        this.extraRetryable = List.copyOf(extraRetryable);
        this.extraNonRetryable = List.copyOf(extraNonRetryable);
    }

    @Override
    public FailureClassification classify(Throwable failure) {
        if (contains(failure, CommitOutcomeUnknownException.class)) {
            return FailureClassification.COMMIT_OUTCOME_UNKNOWN;
        }
        String state = SqlStates.of(failure);
        if (state != null) {
            return SqlStates.isRefusedForGood(failure) ? FailureClassification.NOT_TRANSIENT : classifyState(state);
        }
        if (contains(failure, SQLTransientConnectionException.class) || contains(failure, SQLRecoverableException.class)
                || (contains(failure, TransientDataAccessException.class) && !contains(failure, QueryTimeoutException.class))
                || isOptimisticLockingFailure(failure)) {
            return FailureClassification.TRANSIENT;
        }
        return FailureClassification.NOT_TRANSIENT;
    }

    /**
     * Whether the failure says the connection failed (class 08, 57P0x, a JDBC error
     * without SQLSTATE such as "Connection is closed"), as opposed to the server answering with an
     * error. (pgjdbc reports I/O errors as class 08.) A commit that fails this way has an unknown outcome; one the server answered with an
     * error (40001, 23505 for a deferred constraint, ...) was definitely rolled back.
     */
    public static boolean isConnectionFailure(Throwable failure) {
        String state = SqlStates.of(failure);
        if (state != null) {
            return state.startsWith("08") || state.startsWith("57P0");
        }
        return contains(failure, SQLException.class);
    }

    /**
     * Whether the failure says a commit's outcome is unknown: a {@link CommitOutcomeUnknownException}
     * in the chain, or SQLSTATE 08007 {@code transaction_resolution_unknown}.
     */
    public static boolean isCommitOutcomeUnknown(Throwable failure) {
        return contains(failure, CommitOutcomeUnknownException.class)
                || TRANSACTION_RESOLUTION_UNKNOWN.equals(SqlStates.of(failure));
    }

    /**
     * Whether the failure is a conflict with another transaction that is over once that one has
     * finished: a serialization failure or deadlock (class 40), or an optimistic-locking conflict.
     */
    public static boolean isContention(Throwable failure) {
        return "40".equals(SqlStates.classOf(failure)) || isOptimisticLockingFailure(failure);
    }

    /**
     * Whether the failure is an optimistic-locking conflict (a stale {@code @Version}): it has no
     * SQLSTATE, and it repeats for as long as the caller's version is stale. Spring's
     * {@link OptimisticLockingFailureException}, or, where nothing translated it (direct
     * {@code EntityManager} use), JPA's {@code OptimisticLockException} or Hibernate's
     * {@code StaleStateException}, matched by name so that neither library is needed.
     */
    public static boolean isOptimisticLockingFailure(Throwable failure) {
        for (Throwable current = failure; current != null; current = SqlStates.next(current)) {
            if (current instanceof OptimisticLockingFailureException || isUntranslatedOptimisticLockFailure(current)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isUntranslatedOptimisticLockFailure(Throwable failure) {
        for (Class<?> type = failure.getClass(); type != Throwable.class; type = type.getSuperclass()) {
            if (UNTRANSLATED_OPTIMISTIC_LOCK_FAILURES.contains(type.getName())) {
                return true;
            }
        }
        return false;
    }

    private FailureClassification classifyState(String state) {
        if (matches(this.extraNonRetryable, state)) {
            return FailureClassification.NOT_TRANSIENT;
        }
        if (matches(this.extraRetryable, state)) {
            return FailureClassification.TRANSIENT;
        }
        if (TRANSACTION_RESOLUTION_UNKNOWN.equals(state)) {
            return FailureClassification.COMMIT_OUTCOME_UNKNOWN;
        }
        if (NOT_TRANSIENT_STATES.contains(state) || NOT_TRANSIENT_CLASSES.contains(state.substring(0, 2))) {
            return FailureClassification.NOT_TRANSIENT;
        }
        if (TRANSIENT_STATES.contains(state) || TRANSIENT_CLASSES.contains(state.substring(0, 2))) {
            return FailureClassification.TRANSIENT;
        }
        return FailureClassification.NOT_TRANSIENT;
    }

    private static boolean matches(List<String> rules, String state) {
        for (String rule : rules) {
            if (rule.equalsIgnoreCase(state) || (rule.length() == 2 && state.regionMatches(true, 0, rule, 0, 2))) {
                return true;
            }
        }
        return false;
    }

    private static boolean contains(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable current = failure; current != null; current = SqlStates.next(current)) {
            if (type.isInstance(current)) {
                return true;
            }
        }
        return false;
    }

}
