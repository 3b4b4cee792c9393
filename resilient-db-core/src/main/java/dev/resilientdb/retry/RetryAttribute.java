package dev.resilientdb.retry;

import org.springframework.transaction.interceptor.DefaultTransactionAttribute;
import org.springframework.transaction.interceptor.DelegatingTransactionAttribute;
import org.springframework.transaction.interceptor.TransactionAttribute;

/**
 * What {@link RetryableTransactional} asks of one method on one target class: the transaction
 * attribute Spring resolves for it (which may come from a method-level {@code @Transactional}),
 * plus the attempts and idempotence of the retry.
 */
final class RetryAttribute extends DelegatingTransactionAttribute {

    private final int maxAttempts;

    private final boolean idempotent;

    RetryAttribute(TransactionAttribute transaction, int maxAttempts, boolean idempotent) {
        super(transaction);
        this.maxAttempts = maxAttempts;
        this.idempotent = idempotent;
    }

    /** The retry settings of an annotation, before Spring's transaction attribute is known. */
    static RetryAttribute of(RetryableTransactional annotation) {
        return new RetryAttribute(new DefaultTransactionAttribute(), annotation.maxAttempts(), annotation.idempotent());
    }

    /** The same retry settings on the transaction attribute that Spring resolved. */
    RetryAttribute on(TransactionAttribute transaction) {
        return new RetryAttribute(transaction, this.maxAttempts, this.idempotent);
    }

    /** The annotation's maximum number of attempts, or the default settings' when it leaves it open. */
    RetrySettings settings(RetrySettings defaults) {
        return (this.maxAttempts > 0) ? defaults.withMaxAttempts(this.maxAttempts) : defaults;
    }

    boolean isIdempotent() {
        return this.idempotent;
    }

}
