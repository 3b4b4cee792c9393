package dev.resilientdb.retry;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.springframework.core.annotation.AliasFor;
import org.springframework.transaction.annotation.Isolation;
import org.springframework.transaction.annotation.Propagation;

/**
 * Runs the method in a transaction, as {@code @Transactional} does, and runs it again in a new
 * transaction when it fails transiently (a lost connection, a restart, a serialization failure or
 * deadlock). On a class, it applies to every public method; on a method, it wins over the class.
 * <p>
 * The retry runs outside the transaction: every attempt is a fresh transaction on a fresh
 * connection. A method that joins a transaction that is already active (propagation
 * {@code REQUIRED}, the default, inside another transaction) does not retry by itself; its failure
 * reaches the outermost retrying boundary, which re-runs the whole unit of work. The method must be
 * safe to run more than once: no side effects outside the database transaction.
 * <p>
 * Same engine as {@link RetryingTransactionTemplate}: defaults from {@code resilient.db.retry.*}.
 */
@Target({ ElementType.TYPE, ElementType.METHOD })
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@Documented
public @interface RetryableTransactional {

    /** Alias for {@link #transactionManager()}. */
    @AliasFor("transactionManager")
    String value() default "";

    /** Qualifier (bean name) of the transaction manager to use; empty for the default one. */
    @AliasFor("value")
    String transactionManager() default "";

    /** Propagation of each attempt's transaction. */
    Propagation propagation() default Propagation.REQUIRED;

    /** Isolation level of each attempt's transaction, for example {@code SERIALIZABLE}. */
    Isolation isolation() default Isolation.DEFAULT;

    /** Timeout of each attempt's transaction, in seconds; -1 for none. */
    int timeout() default -1;

    /** Whether each attempt's transaction is read-only. */
    boolean readOnly() default false;

    /** Exceptions (besides unchecked ones) that roll the transaction back. */
    Class<? extends Throwable>[] rollbackFor() default {};

    /** Exceptions that commit the transaction even though they are thrown. */
    Class<? extends Throwable>[] noRollbackFor() default {};

    /** Maximum number of attempts, the first included; -1 for {@code resilient.db.retry.max-attempts}. */
    int maxAttempts() default -1;

    /**
     * Whether running the method twice has the same effect as running it once (it checks an
     * idempotency key, say). Only then is a commit with an unknown outcome retried; otherwise it
     * raises {@link CommitOutcomeUnknownException}.
     */
    boolean idempotent() default false;

}
