package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.beans.BeanWrapperImpl;
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

    /** PostgreSQL's {@code statement_timeout} is an int of milliseconds; above it every connection or transaction fails. */
    static final Duration POSTGRES_MAXIMUM_STATEMENT_TIMEOUT = Duration.ofMillis(Integer.MAX_VALUE);

    /** pgjdbc reads connect and socket timeouts as int seconds and multiplies them by 1000 into an int. */
    static final Duration PGJDBC_MAXIMUM_TIMEOUT = Duration.ofSeconds(Integer.MAX_VALUE / 1000);

    private PropertiesValidation() {
    }

    private static final ResilientDbProperties DEFAULTS = new ResilientDbProperties();

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
                    "Set it to a percentage such as 90.", "90");
        }
        if (atLeast(errors, "circuitBreaker.slidingWindow", breaker.getSlidingWindow(), Duration.ofSeconds(1))
                && breaker.getSlidingWindow().toNanosPart() != 0) {
            String seconds = (breaker.getSlidingWindow().toSeconds() + 1) + "s";
            reject(errors, "circuitBreaker.slidingWindow", "must be whole seconds",
                    "Set it in whole seconds, for example " + seconds + ".", seconds);
        }
        if (breaker.getMinimumCalls() < 1) {
            reject(errors, "circuitBreaker.minimumCalls", "must be at least 1", "Set it to, for example, 20.", "20");
        }
        positive(errors, "circuitBreaker.waitInOpenState", breaker.getWaitInOpenState(), Duration.ofSeconds(1));
        if (breaker.getTrialCalls() < 1) {
            reject(errors, "circuitBreaker.trialCalls", "must be at least 1", "Set it to, for example, 3.", "3");
        }
        if (breaker.getOpenAfter() != null) {
            positive(errors, "circuitBreaker.openAfter", breaker.getOpenAfter(), properties.getRetry().getDeadline());
        }
        atLeast(errors, "circuitBreaker.probeInterval", breaker.getProbeInterval(), Duration.ofMillis(10),
                "Set it to 10ms or more, for example 50ms.", Duration.ofMillis(50));
        ResilientDbProperties.Budget budget = properties.getRetry().getBudget();
        if (budget.getRatio() < 0) {
            reject(errors, "retry.budget.ratio", "must not be negative",
                    "Set it to the share of first attempts that may be retried, for example 0.5.", "0.5");
        }
        if (budget.getMinRetriesPerSecond() < 0) {
            reject(errors, "retry.budget.minRetriesPerSecond", "must not be negative", "Set it to, for example, 10.", "10");
        }
    }

    private static void validateHealthAndStartup(ResilientDbProperties properties, Errors errors) {
        if (atLeast(errors, "health.timeout", properties.getHealth().getTimeout(), Duration.ofMillis(100))
                && properties.getHealth().getTimeout().compareTo(Duration.ofSeconds(30)) > 0) {
            reject(errors, "health.timeout", "must not exceed 30s",
                    "Keep it below your probes' timeout (Kubernetes: 1s by default), for example 800ms.", "800ms");
        }
        double threshold = properties.getPool().getSaturationWarnThreshold();
        if (threshold <= 0.0 || threshold > 1.0) {
            reject(errors, "pool.saturationWarnThreshold", "must be above 0 and at most 1",
                    "Set it to a share of max-size, for example 0.8 for 80%.", "0.8");
        }
        positive(errors, "pool.saturationWarnInterval", properties.getPool().getSaturationWarnInterval(), Duration.ofMinutes(1));
        positive(errors, "web.problemResponses.retryAfter", properties.getWeb().getProblemResponses().getRetryAfter(),
                Duration.ofSeconds(2));
        Duration wait = properties.getStartup().getWaitForDatabase();
        if (notNull(errors, "startup.waitForDatabase", wait) && wait.isNegative()) {
            reject(errors, "startup.waitForDatabase", "must not be negative",
                    "Set it to 0 to start without waiting, or to how long to wait, for example 60s.", "0s");
        }
    }

    private static void validateRetry(ResilientDbProperties.Retry retry, Errors errors) {
        if (retry.getMaxAttempts() < 1) {
            reject(errors, "retry.maxAttempts", "must be at least 1",
                    "Set it to 1 for no retries, or to the number of attempts to allow, for example 10.", "10");
        }
        if (retry.getOptimisticLockMaxAttempts() < 1) {
            reject(errors, "retry.optimisticLockMaxAttempts", "must be at least 1",
                    "Set it to 1 to never retry an optimistic-locking conflict, or to a few attempts, for example 3.", "3");
        }
        boolean initialValid = isPositive(retry.getInitialInterval());
        boolean maxValid = isPositive(retry.getMaxInterval());
        // Each suggestion keeps initial-interval <= max-interval with the other as it is, or as its own suggestion makes it.
        Duration suggestedMax = initialValid ? max(Duration.ofSeconds(2), retry.getInitialInterval()) : Duration.ofSeconds(2);
        Duration suggestedInitial = min(Duration.ofMillis(100), maxValid ? retry.getMaxInterval() : suggestedMax);
        positive(errors, "retry.initialInterval", retry.getInitialInterval(), suggestedInitial);
        positive(errors, "retry.maxInterval", retry.getMaxInterval(), suggestedMax);
        if (initialValid && maxValid && retry.getMaxInterval().compareTo(retry.getInitialInterval()) < 0) {
            reject(errors, "retry.maxInterval", "must not be shorter than resilient.db.retry.initial-interval ("
                    + format(retry.getInitialInterval()) + ")",
                    "Raise it to at least resilient.db.retry.initial-interval (" + format(retry.getInitialInterval())
                            + "), or lower that.", format(retry.getInitialInterval()));
        }
        positive(errors, "retry.contentionMaxInterval", retry.getContentionMaxInterval(), Duration.ofMillis(400));
        if (retry.getMultiplier() < 1.0) {
            reject(errors, "retry.multiplier", "must be at least 1.0",
                    "Set it to 1.0 for a fixed back-off, or above 1.0 (for example 2.0) for a growing one.", "2.0");
        }
        if (retry.getJitter() < 0.0 || retry.getJitter() > 1.0) {
            reject(errors, "retry.jitter", "must be between 0.0 and 1.0",
                    "Set it to a fraction such as 0.5 (back-offs vary by up to 50%), or 0 for none.", "0.5");
        }
        positive(errors, "retry.deadline", retry.getDeadline(), Duration.ofSeconds(10));
        validateSqlStates(errors, "retry.retryableSqlStates", retry.getRetryableSqlStates());
        validateSqlStates(errors, "retry.nonRetryableSqlStates", retry.getNonRetryableSqlStates());
    }

    private static void validateSqlStates(Errors errors, String field, List<String> states) {
        List<String> valid = states.stream().filter(PropertiesValidation::isSqlState).toList();
        for (String state : states) {
            if (!isSqlState(state)) {
                String keep = valid.isEmpty() ? "remove it" : "keep " + String.join(",", valid);
                reject(errors, field, "contains '" + state + "', which is neither a SQLSTATE nor a SQLSTATE class",
                        "Use five-character SQLSTATEs such as 55P03, or two-character classes such as 08 (or " + keep + ").",
                        String.join(",", valid));
                return;
            }
        }
    }

    private static boolean isSqlState(String state) {
        return state != null && state.matches("[0-9A-Za-z]{2}|[0-9A-Za-z]{5}");
    }

    private static boolean positive(Errors errors, String field, Duration value, Duration example) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.isNegative() || value.isZero()) {
            reject(errors, field, "must be longer than 0", "Set a positive duration, for example " + format(example) + ".",
                    format(example));
            return false;
        }
        return true;
    }

    private static void validatePool(ResilientDbProperties.Pool pool, Errors errors) {
        Integer minIdle = pool.getMinIdle();
        boolean minIdleValid = minIdle == null || minIdle >= 0;
        if (pool.getMaxSize() < 1) {
            int suggested = Math.max(10, minIdleValid && minIdle != null ? minIdle : 0);
            reject(errors, "pool.maxSize", "must be at least 1",
                    "Set it to the number of connections the application needs at once, for example " + suggested + ".",
                    Integer.toString(suggested));
        }
        if (!minIdleValid) {
            reject(errors, "pool.minIdle", "must not be negative",
                    "Set it between 0 and resilient.db.pool.max-size, or remove it for a fixed-size pool.", "0");
        }
        else if (minIdle != null && pool.getMaxSize() >= 1 && minIdle > pool.getMaxSize()) {
            reject(errors, "pool.minIdle", "must not exceed resilient.db.pool.max-size (" + pool.getMaxSize() + ")",
                    "Lower it to at most " + pool.getMaxSize() + ", raise resilient.db.pool.max-size, or remove it.",
                    Integer.toString(pool.getMaxSize()));
        }
        validatePoolTimeouts(pool, errors);
        zeroOrAtLeast(errors, "pool.idleTimeout", pool.getIdleTimeout(), HIKARI_MINIMUM_IDLE_TIMEOUT);
        validateLifetimeAndKeepalive(pool, errors);
        zeroOrAtLeast(errors, "pool.leakDetectionThreshold", pool.getLeakDetectionThreshold(), HIKARI_MINIMUM_LEAK_DETECTION);
        notNull(errors, "pool.initializationFailTimeout", pool.getInitializationFailTimeout());
    }

    /**
     * connection-timeout at least 250ms, validation-timeout at least 250ms and below connection-timeout.
     * The relation is checked only when both are valid on their own; otherwise the invalid one's
     * suggestion already keeps it.
     */
    private static void validatePoolTimeouts(ResilientDbProperties.Pool pool, Errors errors) {
        Duration connection = pool.getConnectionTimeout();
        Duration validation = pool.getValidationTimeout();
        boolean validationInRange = validation != null && validation.compareTo(HIKARI_MINIMUM_TIMEOUT) >= 0;
        Duration suggestedConnection = validationInRange ? max(Duration.ofSeconds(2), validation.plusSeconds(1))
                : Duration.ofSeconds(2);
        boolean connectionValid = atLeast(errors, "pool.connectionTimeout", connection, HIKARI_MINIMUM_TIMEOUT,
                "Set it to 250ms or more, and above resilient.db.pool.validation-timeout, for example "
                        + format(suggestedConnection) + ".", suggestedConnection);
        Duration connectionInEffect = connectionValid ? connection : suggestedConnection;
        if (connectionInEffect.compareTo(HIKARI_MINIMUM_TIMEOUT) <= 0) {
            // connection-timeout is exactly 250ms: no validation-timeout fits below it.
            reject(errors, "pool.validationTimeout", "must be at least " + format(HIKARI_MINIMUM_TIMEOUT)
                    + " and shorter than resilient.db.pool.connection-timeout (" + format(connection) + ")",
                    "Raise resilient.db.pool.connection-timeout above " + format(HIKARI_MINIMUM_TIMEOUT)
                            + " (for example to 2s) and keep this at 250ms to 1s.",
                    Map.of("pool.connectionTimeout", "2s", "pool.validationTimeout", "1s"));
            return;
        }
        Duration suggestedValidation = max(HIKARI_MINIMUM_TIMEOUT, min(Duration.ofSeconds(1), connectionInEffect.dividedBy(2)));
        if (validation == null) {
            reject(errors, "pool.validationTimeout", "must not be empty", "Set a duration below "
                    + "resilient.db.pool.connection-timeout, for example " + format(suggestedValidation) + ".",
                    format(suggestedValidation));
            return;
        }
        if (atLeast(errors, "pool.validationTimeout", validation, HIKARI_MINIMUM_TIMEOUT,
                "Set it to 250ms or more, and below resilient.db.pool.connection-timeout, for example "
                        + format(suggestedValidation) + ".", suggestedValidation)
                && connectionValid && validation.compareTo(connection) >= 0) {
            reject(errors, "pool.validationTimeout", "must be shorter than resilient.db.pool.connection-timeout ("
                    + format(connection) + ")",
                    "Lower it below resilient.db.pool.connection-timeout, for example to " + format(suggestedValidation)
                            + ", or raise resilient.db.pool.connection-timeout.", format(suggestedValidation));
        }
    }

    /** max-lifetime 0 or at least 30s; keepalive-time 0 or at least 30s, and below a max-lifetime that is on. */
    private static void validateLifetimeAndKeepalive(ResilientDbProperties.Pool pool, Errors errors) {
        Duration lifetime = pool.getMaxLifetime();
        Duration keepalive = pool.getKeepaliveTime();
        boolean keepaliveInRange = keepalive != null && (keepalive.isZero()
                || keepalive.compareTo(HIKARI_MINIMUM_KEEPALIVE) >= 0);
        Duration suggestedLifetime = (keepaliveInRange && isPositive(keepalive))
                ? max(Duration.ofMinutes(30), keepalive.plusMinutes(1)) : Duration.ofMinutes(30);
        boolean lifetimeValid = zeroOrAtLeast(errors, "pool.maxLifetime", lifetime, HIKARI_MINIMUM_LIFETIME,
                suggestedLifetime);
        Duration lifetimeInEffect = lifetimeValid ? lifetime : suggestedLifetime;
        // Keepalive must stay below the lifetime; with a lifetime of 30s or less no keepalive (30s at least) fits.
        boolean roomForKeepalive = lifetimeInEffect.isZero() || lifetimeInEffect.compareTo(HIKARI_MINIMUM_KEEPALIVE) > 0;
        Duration suggestedKeepalive = roomForKeepalive ? HIKARI_MINIMUM_KEEPALIVE : Duration.ZERO;
        if (zeroOrAtLeast(errors, "pool.keepaliveTime", keepalive, HIKARI_MINIMUM_KEEPALIVE, suggestedKeepalive)
                && lifetimeValid && isPositive(keepalive) && isPositive(lifetime) && keepalive.compareTo(lifetime) >= 0) {
            reject(errors, "pool.keepaliveTime", "must be shorter than resilient.db.pool.max-lifetime ("
                    + format(lifetime) + ")",
                    roomForKeepalive ? "Lower it below resilient.db.pool.max-lifetime, for example to 30s, or set it to 0 "
                            + "to turn keepalive off." : "Set it to 0 to turn keepalive off, or raise "
                                    + "resilient.db.pool.max-lifetime above 30s.", format(suggestedKeepalive));
        }
    }

    private static void validateDriver(ResilientDbProperties.Driver driver, Errors errors) {
        Duration connect = driver.getConnectTimeout();
        if (zeroOrAtLeast(errors, "driver.connectTimeout", connect, Duration.ofSeconds(1))) {
            atMost(errors, "driver.connectTimeout", connect, PGJDBC_MAXIMUM_TIMEOUT, "the PostgreSQL driver's limit",
                    DEFAULTS.getDriver().getConnectTimeout());
        }
        Duration socket = driver.getSocketTimeout();
        Duration statement = driver.getStatementTimeout();
        boolean socketInRange = socket != null && (socket.isZero()
                || (!socket.isNegative() && socket.compareTo(Duration.ofSeconds(1)) >= 0))
                && socket.compareTo(PGJDBC_MAXIMUM_TIMEOUT) <= 0;
        boolean statementInRange = statement != null && !statement.isNegative()
                && statement.compareTo(POSTGRES_MAXIMUM_STATEMENT_TIMEOUT) <= 0;
        // The socket timeout must exceed the statement timeout, or be 0 (off); with the statement timeout off, it must be off too.
        Duration suggestedStatement = (socketInRange && isPositive(socket)) ? min(Duration.ofSeconds(30), socket.dividedBy(2))
                : Duration.ofSeconds(30);
        Duration statementInEffect = statementInRange ? statement : suggestedStatement;
        Duration suggestedSocket = isPositive(statementInEffect) ? statementInEffect.plusSeconds(15) : Duration.ZERO;
        if (suggestedSocket.compareTo(PGJDBC_MAXIMUM_TIMEOUT) > 0) {
            suggestedSocket = Duration.ZERO;
        }
        boolean socketValid = zeroOrAtLeast(errors, "driver.socketTimeout", socket, Duration.ofSeconds(1), suggestedSocket)
                && atMost(errors, "driver.socketTimeout", socket, PGJDBC_MAXIMUM_TIMEOUT, "the PostgreSQL driver's limit",
                        suggestedSocket);
        boolean statementValid = zeroOrAtLeast(errors, "driver.statementTimeout", statement, Duration.ofMillis(1),
                suggestedStatement)
                && atMost(errors, "driver.statementTimeout", statement, POSTGRES_MAXIMUM_STATEMENT_TIMEOUT,
                        "PostgreSQL's limit for statement_timeout", suggestedStatement);
        if (socketValid && statementValid && isPositive(socket)) {
            boolean statementUnbounded = !isPositive(statement);
            if (statementUnbounded || socket.compareTo(statement) <= 0) {
                String current = statementUnbounded ? "0 (off)" : format(statement);
                Map<String, String> values = statementUnbounded
                        ? Map.of("driver.statementTimeout", format(suggestedStatement))
                        : Map.of("driver.socketTimeout", format(suggestedSocket));
                reject(errors, "driver.socketTimeout", "must be longer than resilient.db.driver.statement-timeout ("
                        + current + "), or the driver drops the connection before the server can cancel the statement",
                        "Raise it above resilient.db.driver.statement-timeout (for example statement-timeout + 15s), "
                                + "or set resilient.db.driver.statement-timeout so that the server cancels first.", values);
            }
        }
    }

    private static boolean atLeast(Errors errors, String field, Duration value, Duration minimum) {
        return atLeast(errors, field, value, minimum, "Set it to " + format(minimum) + " or more.", minimum);
    }

    private static boolean atLeast(Errors errors, String field, Duration value, Duration minimum, String fix,
            Duration suggested) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.compareTo(minimum) < 0) {
            reject(errors, field, "must be at least " + format(minimum), fix, format(suggested));
            return false;
        }
        return true;
    }

    /** A timeout the driver or the server keeps in an int: above the limit it fails every connection, or wraps round. */
    private static boolean atMost(Errors errors, String field, Duration value, Duration maximum, String limit,
            Duration suggested) {
        if (value.compareTo(maximum) > 0) {
            reject(errors, field, "must be at most " + format(maximum) + " (" + limit + ", about " + maximum.toDays()
                    + " days)", "Set it to 0 to turn it off, or to at most " + format(maximum) + " (for example "
                            + format(suggested) + ").", format(suggested));
            return false;
        }
        return true;
    }

    private static boolean zeroOrAtLeast(Errors errors, String field, Duration value, Duration minimum) {
        return zeroOrAtLeast(errors, field, value, minimum, minimum);
    }

    private static boolean zeroOrAtLeast(Errors errors, String field, Duration value, Duration minimum, Duration suggested) {
        if (!notNull(errors, field, value)) {
            return false;
        }
        if (value.isNegative() || (!value.isZero() && value.compareTo(minimum) < 0)) {
            reject(errors, field, "must be 0 (off) or at least " + format(minimum),
                    "Set it to 0 to turn it off, or to " + format(minimum) + " or more (for example "
                            + format(suggested) + ").", format(suggested));
            return false;
        }
        return true;
    }

    /** An empty value: remove the property, and the default applies (the defaults are valid together). */
    private static boolean notNull(Errors errors, String field, Duration value) {
        if (value == null) {
            Object defaultValue = new BeanWrapperImpl(DEFAULTS).getPropertyValue(field);
            reject(errors, field, "must not be empty", "Set a duration such as 500ms, 2s or 1m, or remove the property "
                    + "to use the default.", (defaultValue instanceof Duration duration) ? format(duration) : "");
            return false;
        }
        return true;
    }

    private static boolean isPositive(Duration value) {
        return value != null && !value.isNegative() && !value.isZero();
    }

    private static Duration min(Duration a, Duration b) {
        return (a.compareTo(b) <= 0) ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return (a.compareTo(b) >= 0) ? a : b;
    }

    static String format(Duration duration) {
        if (duration.isZero()) {
            return "0s";
        }
        if (duration.toMillis() % 60_000 == 0 && duration.toMinutes() != 0) {
            return duration.toMinutes() + "m";
        }
        return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
    }

    private static void reject(Errors errors, String field, String problem, String fix) {
        reject(errors, field, problem, fix, Map.of());
    }

    /**
     * Rejects a field with the fix in words and the values that carry it out: values that are valid
     * together with the rest of the configuration, as the analyzer prints them and a test applies them.
     */
    private static void reject(Errors errors, String field, String problem, String fix, Map<String, String> values) {
        errors.rejectValue(field, "resilientdb.invalid", new Object[] { fix, new SuggestedValues(values) }, problem);
    }

    private static void reject(Errors errors, String field, String problem, String fix, String value) {
        reject(errors, field, problem, fix, Map.of(field, value));
    }

    /**
     * Property values that fix a rejected field, keyed by field path ({@code pool.minIdle}); each is
     * valid given the other settings as they are, or as their own suggestions make them.
     *
     * @param values the suggested values by field path
     */
    record SuggestedValues(Map<String, String> values) {

        /** The values by property name as written in {@code application.yml}. */
        Map<String, String> byPropertyName() {
            Map<String, String> byName = new LinkedHashMap<>();
            this.values.forEach((field, value) -> byName.put(propertyName(field), value));
            return byName;
        }

    }

    /** {@code pool.minIdle} as {@code resilient.db.pool.min-idle}. */
    static String propertyName(String field) {
        StringBuilder name = new StringBuilder(ResilientDbProperties.PREFIX).append('.');
        for (char ch : field.toCharArray()) {
            if (Character.isUpperCase(ch)) {
                name.append('-').append(Character.toLowerCase(ch));
            }
            else {
                name.append(ch);
            }
        }
        return name.toString();
    }

}
