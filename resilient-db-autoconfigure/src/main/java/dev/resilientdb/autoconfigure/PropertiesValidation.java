package dev.resilientdb.autoconfigure;

import java.time.Duration;

import org.springframework.validation.Errors;

/**
 * The checks behind {@link ResilientDbProperties#validate}: the limits HikariCP and the PostgreSQL
 * driver enforce (or silently "correct"), and the relations between settings. Every rejection
 * carries, as its only argument, the fix to suggest to the user.
 */
final class PropertiesValidation {

    /** HikariCP raises anything below this to its default; fail instead of guessing. */
    static final Duration HIKARI_MINIMUM_TIMEOUT = Duration.ofMillis(250);

    static final Duration HIKARI_MINIMUM_IDLE_TIMEOUT = Duration.ofSeconds(10);

    static final Duration HIKARI_MINIMUM_LIFETIME = Duration.ofSeconds(30);

    static final Duration HIKARI_MINIMUM_KEEPALIVE = Duration.ofSeconds(30);

    static final Duration HIKARI_MINIMUM_LEAK_DETECTION = Duration.ofSeconds(2);

    private PropertiesValidation() {
    }

    static void validate(ResilientDbProperties properties, Errors errors) {
        validatePool(properties.getPool(), errors);
        validateDriver(properties.getDriver(), errors);
        validateRetry(properties.getRetry(), errors);
        validateHealthAndStartup(properties, errors);
        validateCircuitBreakerAndBudget(properties, errors);
    }

    private static void validateCircuitBreakerAndBudget(ResilientDbProperties properties, Errors errors) {
        ResilientDbProperties.CircuitBreaker breaker = properties.getCircuitBreaker();
        if (breaker.getFailureRateThreshold() <= 0 || breaker.getFailureRateThreshold() > 100) {
            reject(errors, "circuitBreaker.failureRateThreshold", "must be above 0 and at most 100 (percent)",
                    "Set it to a percentage such as 90.");
        }
        if (atLeast(errors, "circuitBreaker.slidingWindow", breaker.getSlidingWindow(), Duration.ofSeconds(1))
                && breaker.getSlidingWindow().toNanosPart() != 0) {
            reject(errors, "circuitBreaker.slidingWindow", "must be whole seconds", "Set it in seconds, for example 10s.");
        }
        if (breaker.getMinimumCalls() < 1) {
            reject(errors, "circuitBreaker.minimumCalls", "must be at least 1", "Set it to, for example, 20.");
        }
        positive(errors, "circuitBreaker.waitInOpenState", breaker.getWaitInOpenState(), "1s");
        if (breaker.getTrialCalls() < 1) {
            reject(errors, "circuitBreaker.trialCalls", "must be at least 1", "Set it to, for example, 3.");
        }
        ResilientDbProperties.Budget budget = properties.getRetry().getBudget();
        if (budget.getRatio() < 0) {
            reject(errors, "retry.budget.ratio", "must not be negative",
                    "Set it to the share of first attempts that may be retried, for example 0.5.");
        }
        if (budget.getMinRetriesPerSecond() < 0) {
            reject(errors, "retry.budget.minRetriesPerSecond", "must not be negative", "Set it to, for example, 10.");
        }
    }

    private static void validateHealthAndStartup(ResilientDbProperties properties, Errors errors) {
        if (atLeast(errors, "health.timeout", properties.getHealth().getTimeout(), Duration.ofMillis(100))
                && properties.getHealth().getTimeout().compareTo(Duration.ofSeconds(30)) > 0) {
            reject(errors, "health.timeout", "must not exceed 30s",
                    "Keep it below your probes' timeout (Kubernetes: 1s by default), for example 800ms.");
        }
        double threshold = properties.getPool().getSaturationWarnThreshold();
        if (threshold <= 0.0 || threshold > 1.0) {
            reject(errors, "pool.saturationWarnThreshold", "must be above 0 and at most 1",
                    "Set it to a share of max-size, for example 0.8 for 80%.");
        }
        positive(errors, "pool.saturationWarnInterval", properties.getPool().getSaturationWarnInterval(), "1m");
        positive(errors, "web.problemResponses.retryAfter", properties.getWeb().getProblemResponses().getRetryAfter(), "2s");
        Duration wait = properties.getStartup().getWaitForDatabase();
        if (notNull(errors, "startup.waitForDatabase", wait) && wait.isNegative()) {
            reject(errors, "startup.waitForDatabase", "must not be negative",
                    "Set it to 0 to start without waiting, or to how long to wait, for example 60s.");
        }
    }

    private static void validateRetry(ResilientDbProperties.Retry retry, Errors errors) {
        if (retry.getMaxAttempts() < 1) {
            reject(errors, "retry.maxAttempts", "must be at least 1",
                    "Set it to 1 for no retries, or to the number of attempts to allow, for example 10.");
        }
        if (retry.getOptimisticLockMaxAttempts() < 1) {
            reject(errors, "retry.optimisticLockMaxAttempts", "must be at least 1",
                    "Set it to 1 to never retry an optimistic-locking conflict, or to a few attempts, for example 3.");
        }
        boolean initialValid = positive(errors, "retry.initialInterval", retry.getInitialInterval(), "100ms");
        boolean maxValid = positive(errors, "retry.maxInterval", retry.getMaxInterval(), "2s");
        if (initialValid && maxValid && retry.getMaxInterval().compareTo(retry.getInitialInterval()) < 0) {
            reject(errors, "retry.maxInterval", "must not be shorter than resilient.db.retry.initial-interval ("
                    + format(retry.getInitialInterval()) + ")",
                    "Raise it to at least resilient.db.retry.initial-interval, or lower that.");
        }
        positive(errors, "retry.contentionMaxInterval", retry.getContentionMaxInterval(), "400ms");
        if (retry.getMultiplier() < 1.0) {
            reject(errors, "retry.multiplier", "must be at least 1.0",
                    "Set it to 1.0 for a fixed back-off, or above 1.0 (for example 2.0) for a growing one.");
        }
        if (retry.getJitter() < 0.0 || retry.getJitter() > 1.0) {
            reject(errors, "retry.jitter", "must be between 0.0 and 1.0",
                    "Set it to a fraction such as 0.5 (back-offs vary by up to 50%), or 0 for none.");
        }
        positive(errors, "retry.deadline", retry.getDeadline(), "10s");
        validateSqlStates(errors, "retry.retryableSqlStates", retry.getRetryableSqlStates());
        validateSqlStates(errors, "retry.nonRetryableSqlStates", retry.getNonRetryableSqlStates());
    }

    private static void validateSqlStates(Errors errors, String field, java.util.List<String> states) {
        for (String state : states) {
            if (state == null || !state.matches("[0-9A-Za-z]{2}|[0-9A-Za-z]{5}")) {
                reject(errors, field, "contains '" + state + "', which is neither a SQLSTATE nor a SQLSTATE class",
                        "Use five-character SQLSTATEs such as 55P03, or two-character classes such as 08.");
                return;
            }
        }
    }

    private static boolean positive(Errors errors, String field, Duration value, String example) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.isNegative() || value.isZero()) {
            reject(errors, field, "must be longer than 0", "Set a positive duration, for example " + example + ".");
            return false;
        }
        return true;
    }

    private static void validatePool(ResilientDbProperties.Pool pool, Errors errors) {
        if (pool.getMaxSize() < 1) {
            reject(errors, "pool.maxSize", "must be at least 1",
                    "Set it to the number of connections the application needs at once, for example 10.");
        }
        Integer minIdle = pool.getMinIdle();
        if (minIdle != null && minIdle < 0) {
            reject(errors, "pool.minIdle", "must not be negative",
                    "Set it between 0 and resilient.db.pool.max-size, or remove it for a fixed-size pool.");
        }
        else if (minIdle != null && minIdle > pool.getMaxSize()) {
            reject(errors, "pool.minIdle", "must not exceed resilient.db.pool.max-size (" + pool.getMaxSize() + ")",
                    "Lower it to at most " + pool.getMaxSize() + ", raise resilient.db.pool.max-size, or remove it.");
        }
        atLeast(errors, "pool.connectionTimeout", pool.getConnectionTimeout(), HIKARI_MINIMUM_TIMEOUT);
        if (atLeast(errors, "pool.validationTimeout", pool.getValidationTimeout(), HIKARI_MINIMUM_TIMEOUT)
                && pool.getConnectionTimeout() != null
                && pool.getValidationTimeout().compareTo(pool.getConnectionTimeout()) >= 0) {
            reject(errors, "pool.validationTimeout", "must be shorter than resilient.db.pool.connection-timeout ("
                    + pool.getConnectionTimeout().toMillis() + "ms)",
                    "Lower it below resilient.db.pool.connection-timeout, for example to 1s.");
        }
        zeroOrAtLeast(errors, "pool.idleTimeout", pool.getIdleTimeout(), HIKARI_MINIMUM_IDLE_TIMEOUT);
        zeroOrAtLeast(errors, "pool.maxLifetime", pool.getMaxLifetime(), HIKARI_MINIMUM_LIFETIME);
        if (zeroOrAtLeast(errors, "pool.keepaliveTime", pool.getKeepaliveTime(), HIKARI_MINIMUM_KEEPALIVE)
                && isPositive(pool.getKeepaliveTime()) && isPositive(pool.getMaxLifetime())
                && pool.getKeepaliveTime().compareTo(pool.getMaxLifetime()) >= 0) {
            reject(errors, "pool.keepaliveTime", "must be shorter than resilient.db.pool.max-lifetime ("
                    + pool.getMaxLifetime().toSeconds() + "s)",
                    "Lower it below resilient.db.pool.max-lifetime, for example to 30s, or set it to 0 to turn keepalive off.");
        }
        zeroOrAtLeast(errors, "pool.leakDetectionThreshold", pool.getLeakDetectionThreshold(), HIKARI_MINIMUM_LEAK_DETECTION);
        notNull(errors, "pool.initializationFailTimeout", pool.getInitializationFailTimeout());
    }

    private static void validateDriver(ResilientDbProperties.Driver driver, Errors errors) {
        zeroOrAtLeast(errors, "driver.connectTimeout", driver.getConnectTimeout(), Duration.ofSeconds(1));
        boolean socketValid = zeroOrAtLeast(errors, "driver.socketTimeout", driver.getSocketTimeout(), Duration.ofSeconds(1));
        boolean statementValid = zeroOrAtLeast(errors, "driver.statementTimeout", driver.getStatementTimeout(), Duration.ofMillis(1));
        if (socketValid && statementValid && isPositive(driver.getSocketTimeout())) {
            boolean statementUnbounded = !isPositive(driver.getStatementTimeout());
            if (statementUnbounded || driver.getSocketTimeout().compareTo(driver.getStatementTimeout()) <= 0) {
                String statement = statementUnbounded ? "0 (off)" : driver.getStatementTimeout().toMillis() + "ms";
                reject(errors, "driver.socketTimeout", "must be longer than resilient.db.driver.statement-timeout ("
                        + statement + "), or the driver drops the connection before the server can cancel the statement",
                        "Raise it above resilient.db.driver.statement-timeout (for example statement-timeout + 15s), "
                                + "or set resilient.db.driver.statement-timeout so that the server cancels first.");
            }
        }
    }

    private static boolean atLeast(Errors errors, String field, Duration value, Duration minimum) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.compareTo(minimum) < 0) {
            reject(errors, field, "must be at least " + format(minimum),
                    "Set it to " + format(minimum) + " or more.");
            return false;
        }
        return true;
    }

    private static boolean zeroOrAtLeast(Errors errors, String field, Duration value, Duration minimum) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.isNegative() || (!value.isZero() && value.compareTo(minimum) < 0)) {
            reject(errors, field, "must be 0 (off) or at least " + format(minimum),
                    "Set it to 0 to turn it off, or to " + format(minimum) + " or more.");
            return false;
        }
        return true;
    }

    private static boolean notNull(Errors errors, String field, Duration value) {
        if (value == null) {
            reject(errors, field, "must not be empty", "Set a duration such as 500ms, 2s or 1m, or remove the property to use the default.");
            return false;
        }
        return true;
    }

    private static boolean isPositive(Duration value) {
        return value != null && !value.isNegative() && !value.isZero();
    }

    private static String format(Duration duration) {
        return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
    }

    private static void reject(Errors errors, String field, String problem, String fix) {
        errors.rejectValue(field, "resilientdb.invalid", new Object[] { fix }, problem);
    }

}
