package dev.resilientdb.retry;

/**
 * A configuration in which the {@link RetryableTransactional} advice cannot keep its promise of
 * one new transaction per attempt, found at start-up when the advice is applied to a bean. The
 * message says what is wrong and where; {@link #getAction()} says how to fix it.
 */
public class RetryAdviceConfigurationException extends IllegalStateException {

    private final String action;

    RetryAdviceConfigurationException(String description, String action) {
        super(description);
        this.action = action;
    }

    /** What to change so that the application starts and retries as documented. */
    public String getAction() {
        return this.action;
    }

    static RetryAdviceConfigurationException noTransactionAdvice(String use) {
        return new RetryAdviceConfigurationException(use + " is @RetryableTransactional, but there is no Spring transaction"
                + " advice in the application context: the method would run without a transaction, every statement"
                + " would commit on its own, and a retry would repeat those that already committed.",
                "Let Spring Boot's TransactionAutoConfiguration apply (do not exclude it), or declare"
                        + " @EnableTransactionManagement on a configuration class.");
    }

    static RetryAdviceConfigurationException insideTransactionAdvice(String use, int retryOrder, int transactionOrder) {
        return new RetryAdviceConfigurationException(use + " is @RetryableTransactional, but the retry advice (order "
                + retryOrder + ") is not outside Spring's transaction advice (order " + transactionOrder
                + "): every attempt would join the transaction already begun, and nothing would ever be retried.",
                "Set resilient.db.retry.order to a number lower than " + transactionOrder
                        + ", or give @EnableTransactionManagement a higher order.");
    }

    static RetryAdviceConfigurationException conflictingTransactional(Object element, Object transactional,
            Object retryable) {
        return new RetryAdviceConfigurationException(element + " has both @Transactional and @RetryableTransactional,"
                + " with other attributes: Spring applies the plain @Transactional's [" + transactional
                + "] and would silently drop @RetryableTransactional's [" + retryable + "].",
                "Remove @Transactional: @RetryableTransactional is a @Transactional and takes the same attributes.");
    }

    static RetryAdviceConfigurationException nonTransactionalPropagation(String problem) {
        return new RetryAdviceConfigurationException(problem,
                "Use propagation REQUIRED (the default) or REQUIRES_NEW, or use plain @Transactional where the"
                        + " method must run without a transaction of its own.");
    }

    static RetryAdviceConfigurationException asynchronousResult(String use, Class<?> returnType) {
        return new RetryAdviceConfigurationException(use + " is @RetryableTransactional and returns "
                + returnType.getName() + ": its work finishes after the method returns, outside the transaction and"
                + " out of reach of the retry, so a failure would never be retried.",
                "Return the result itself and call the method from the asynchronous code (or use a reactive"
                        + " transaction manager without @RetryableTransactional).");
    }

}
