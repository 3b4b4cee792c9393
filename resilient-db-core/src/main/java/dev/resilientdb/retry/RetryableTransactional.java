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
import org.springframework.transaction.annotation.Transactional;

/**
 * A {@code @Transactional} that is run again, in a new transaction on a fresh connection, when it
 * fails transiently (a lost connection, a restart, a serialization failure or deadlock). On a
 * class, it applies to the methods {@code @Transactional} would apply to; on a method, it wins
 * over the class.
 * <p>
 * The transaction itself is Spring's: this annotation is meta-annotated with {@link Transactional},
 * so Spring's transaction advice resolves its attributes and runs the transaction, exactly as for
 * {@code @Transactional}. A method-level {@code @Transactional} inside a class-level
 * {@code @RetryableTransactional} keeps its own attributes and is retried. With retries switched
 * off ({@code resilient.db.retry.enabled=false}), the method is a plain {@code @Transactional}.
 * <p>
 * The retry runs outside the transaction. A method that joins a transaction already active on the
 * same resource does not retry by itself; its failure reaches the outermost retrying boundary,
 * which re-runs the whole unit of work. Once a commit inside the unit of work may have happened
 * (its own, or an inner {@code REQUIRES_NEW}), the unit is not re-run unless it is
 * {@link #idempotent()}. Propagations that run without a transaction ({@code SUPPORTS},
 * {@code NOT_SUPPORTED}, {@code NEVER}) are rejected at start-up: their statements commit one by one,
 * and running them again would repeat those that already committed.
 * <p>
 * Start-up also fails ({@link RetryAdviceConfigurationException}) without Spring's transaction
 * advice, with a retry advice not ordered outside it, with a plain {@code @Transactional} of other
 * attributes on the same method or class, and for asynchronous results ({@code Future},
 * {@code CompletionStage}, reactive types), whose work a retry could not see.
 * <p>
 * The method must be safe to run more than once: no side effects outside the database transaction.
 * Same engine as {@link RetryingTransactionTemplate}: defaults from {@code resilient.db.retry.*}.
 */
@Target({ ElementType.TYPE, ElementType.METHOD })
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@Documented
@Transactional
public @interface RetryableTransactional {

    /** Alias for {@link #transactionManager()}. */
    @AliasFor(annotation = Transactional.class, attribute = "value")
    String value() default "";

    /** Qualifier (bean name) of the transaction manager to use; empty for the default one. */
    @AliasFor(annotation = Transactional.class, attribute = "transactionManager")
    String transactionManager() default "";

    /** Propagation of each attempt's transaction: {@code REQUIRED}, {@code REQUIRES_NEW}, {@code MANDATORY} or {@code NESTED}. */
    @AliasFor(annotation = Transactional.class, attribute = "propagation")
    Propagation propagation() default Propagation.REQUIRED;

    /** Isolation level of each attempt's transaction, for example {@code SERIALIZABLE}. */
    @AliasFor(annotation = Transactional.class, attribute = "isolation")
    Isolation isolation() default Isolation.DEFAULT;

    /** Timeout of each attempt's transaction, in seconds; -1 for none. */
    @AliasFor(annotation = Transactional.class, attribute = "timeout")
    int timeout() default -1;

    /** Whether each attempt's transaction is read-only. */
    @AliasFor(annotation = Transactional.class, attribute = "readOnly")
    boolean readOnly() default false;

    /** Exceptions (besides unchecked ones) that roll the transaction back. */
    @AliasFor(annotation = Transactional.class, attribute = "rollbackFor")
    Class<? extends Throwable>[] rollbackFor() default {};

    /** Exceptions that commit the transaction even though they are thrown. */
    @AliasFor(annotation = Transactional.class, attribute = "noRollbackFor")
    Class<? extends Throwable>[] noRollbackFor() default {};

    /** Maximum number of attempts, the first included; -1 for {@code resilient.db.retry.max-attempts}. */
    int maxAttempts() default -1;

    /**
     * Whether running the method twice has the same effect as running it once (it checks an
     * idempotency key, say). Only then is a unit of work whose commit may have happened run again;
     * otherwise a commit with an unknown outcome raises {@link CommitOutcomeUnknownException}, unless
     * {@code resilient.db.retry.resolve-commit-outcome} is on and the server proves what happened: then
     * the caller gets the method's result (the server says its transaction committed) or the method
     * runs again (nothing of it was stored). That applies to the method's own transaction and to inner
     * ones on Spring's JDBC or JPA transaction managers; {@code afterCommit} callbacks of a transaction
     * confirmed that way did not run.
     */
    boolean idempotent() default false;

}
