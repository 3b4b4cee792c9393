package dev.resilientdb.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.core.Ordered;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Configuration properties for resilient-db, bound from {@code resilient.db.*}.
 * <p>
 * The class validates itself (Spring's {@link Validator}) so that no Bean Validation provider has
 * to be on the application's classpath; {@code InvalidResilientDbPropertiesFailureAnalyzer} turns a
 * rejected value into a start-up message that names the property and the fix.
 */
@ConfigurationProperties(ResilientDbProperties.PREFIX)
public class ResilientDbProperties implements Validator {

    public static final String PREFIX = "resilient.db";

    /**
     * Whether resilient-db is enabled; false leaves the application with Spring Boot's defaults.
     */
    private boolean enabled = true;

    /**
     * What an unknown property under resilient.db (a typo such as resilient.db.pool.max-szie) does: fail stops start-up naming it, its origin and the nearest valid property; warn logs the same and starts.
     */
    private UnknownKeys unknownKeys = UnknownKeys.FAIL;

    private final Pool pool = new Pool();

    private final Driver driver = new Driver();

    private final Retry retry = new Retry();

    private final Health health = new Health();

    private final CircuitBreaker circuitBreaker = new CircuitBreaker();

    private final Startup startup = new Startup();

    private final Web web = new Web();

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public UnknownKeys getUnknownKeys() {
        return this.unknownKeys;
    }

    public void setUnknownKeys(UnknownKeys unknownKeys) {
        this.unknownKeys = unknownKeys;
    }

    public Pool getPool() {
        return this.pool;
    }

    public Driver getDriver() {
        return this.driver;
    }

    public Retry getRetry() {
        return this.retry;
    }

    public Health getHealth() {
        return this.health;
    }

    public CircuitBreaker getCircuitBreaker() {
        return this.circuitBreaker;
    }

    public Startup getStartup() {
        return this.startup;
    }

    public Web getWeb() {
        return this.web;
    }

    @Override
    public boolean supports(Class<?> type) {
        return ResilientDbProperties.class.isAssignableFrom(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        PropertiesValidation.validate((ResilientDbProperties) target, errors);
    }

    /**
     * HikariCP pool sizing and timeouts.
     */
    public static class Pool {

        /**
         * Maximum number of connections in the pool, in use and idle together.
         */
        private int maxSize = 10;

        /**
         * Minimum number of idle connections the pool keeps; unset means the same as max-size (a fixed-size pool).
         */
        private @Nullable Integer minIdle;

        /**
         * Maximum time to wait for a connection from the pool before the call fails.
         */
        private Duration connectionTimeout = Duration.ofSeconds(2);

        /**
         * Maximum time a connection may sit idle before it is retired; applies only when min-idle is below max-size.
         */
        private Duration idleTimeout = Duration.ofMinutes(10);

        /**
         * Maximum lifetime of a connection in the pool; keep it below any limit imposed by the database or network.
         */
        private Duration maxLifetime = Duration.ofMinutes(30);

        /**
         * How often an idle connection is tested, so that a dead connection is found before a caller gets it.
         */
        private Duration keepaliveTime = Duration.ofSeconds(30);

        /**
         * Maximum time the pool waits for a connection to prove it is alive.
         */
        private Duration validationTimeout = Duration.ofSeconds(1);

        /**
         * Time a connection may be out of the pool before a possible leak is logged; 0 turns detection off.
         */
        private Duration leakDetectionThreshold = Duration.ZERO;

        /**
         * Time the pool tries to open its first connection when it starts, before it fails; a negative value starts it without the attempt, so that no caller waits longer than the connection timeout.
         */
        private Duration initializationFailTimeout = Duration.ofMillis(-1);

        /**
         * Name of the pool in logs, metrics and JMX; unset uses spring.datasource.name, or the DataSource bean name.
         */
        private @Nullable String name;

        /**
         * Utilisation (share of max-size in use, 0 to 1) at which a saturation warning is logged.
         */
        private double saturationWarnThreshold = 0.8;

        /**
         * Least time between two saturation warnings while the pool stays above the threshold.
         */
        private Duration saturationWarnInterval = Duration.ofMinutes(1);

        public int getMaxSize() {
            return this.maxSize;
        }

        public void setMaxSize(int maxSize) {
            this.maxSize = maxSize;
        }

        public @Nullable Integer getMinIdle() {
            return this.minIdle;
        }

        public void setMinIdle(@Nullable Integer minIdle) {
            this.minIdle = minIdle;
        }

        public Duration getConnectionTimeout() {
            return this.connectionTimeout;
        }

        public void setConnectionTimeout(Duration connectionTimeout) {
            this.connectionTimeout = connectionTimeout;
        }

        public Duration getIdleTimeout() {
            return this.idleTimeout;
        }

        public void setIdleTimeout(Duration idleTimeout) {
            this.idleTimeout = idleTimeout;
        }

        public Duration getMaxLifetime() {
            return this.maxLifetime;
        }

        public void setMaxLifetime(Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
        }

        public Duration getKeepaliveTime() {
            return this.keepaliveTime;
        }

        public void setKeepaliveTime(Duration keepaliveTime) {
            this.keepaliveTime = keepaliveTime;
        }

        public Duration getValidationTimeout() {
            return this.validationTimeout;
        }

        public void setValidationTimeout(Duration validationTimeout) {
            this.validationTimeout = validationTimeout;
        }

        public Duration getLeakDetectionThreshold() {
            return this.leakDetectionThreshold;
        }

        public void setLeakDetectionThreshold(Duration leakDetectionThreshold) {
            this.leakDetectionThreshold = leakDetectionThreshold;
        }

        public Duration getInitializationFailTimeout() {
            return this.initializationFailTimeout;
        }

        public void setInitializationFailTimeout(Duration initializationFailTimeout) {
            this.initializationFailTimeout = initializationFailTimeout;
        }

        public @Nullable String getName() {
            return this.name;
        }

        public void setName(@Nullable String name) {
            this.name = name;
        }

        public double getSaturationWarnThreshold() {
            return this.saturationWarnThreshold;
        }

        public void setSaturationWarnThreshold(double saturationWarnThreshold) {
            this.saturationWarnThreshold = saturationWarnThreshold;
        }

        public Duration getSaturationWarnInterval() {
            return this.saturationWarnInterval;
        }

        public void setSaturationWarnInterval(Duration saturationWarnInterval) {
            this.saturationWarnInterval = saturationWarnInterval;
        }

        /** The minimum idle count in effect: the configured one, or max-size when unset. */
        public int effectiveMinIdle() {
            return (this.minIdle != null) ? this.minIdle : this.maxSize;
        }

    }

    /**
     * PostgreSQL JDBC driver and server-side session settings, applied to every pooled connection.
     */
    public static class Driver {

        /**
         * Maximum time to open a TCP connection and log in to the server.
         */
        private Duration connectTimeout = Duration.ofSeconds(5);

        /**
         * Maximum time the driver waits for the server to answer on an open connection; 0 waits forever. Must exceed statement-timeout.
         */
        private Duration socketTimeout = Duration.ofSeconds(45);

        /**
         * Maximum run time of one statement, enforced by the server (it cancels with SQLSTATE 57014); 0 turns it off.
         */
        private Duration statementTimeout = Duration.ofSeconds(30);

        /**
         * Whether TCP keepalive probes are sent, so the operating system notices a peer that vanished.
         */
        private boolean tcpKeepAlive = true;

        /**
         * Name the connections report in pg_stat_activity; unset uses spring.application.name, or "resilient-db".
         */
        private @Nullable String applicationName;

        /**
         * Connection pooler between the application and PostgreSQL; in a pgbouncer mode the statement timeout and the driver settings are sent in ways the pooler lets through.
         */
        private Pooler pooler = Pooler.NONE;

        public Pooler getPooler() {
            return this.pooler;
        }

        public void setPooler(Pooler pooler) {
            this.pooler = pooler;
        }

        public Duration getConnectTimeout() {
            return this.connectTimeout;
        }

        public void setConnectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
        }

        public Duration getSocketTimeout() {
            return this.socketTimeout;
        }

        public void setSocketTimeout(Duration socketTimeout) {
            this.socketTimeout = socketTimeout;
        }

        public Duration getStatementTimeout() {
            return this.statementTimeout;
        }

        public void setStatementTimeout(Duration statementTimeout) {
            this.statementTimeout = statementTimeout;
        }

        public boolean isTcpKeepAlive() {
            return this.tcpKeepAlive;
        }

        public void setTcpKeepAlive(boolean tcpKeepAlive) {
            this.tcpKeepAlive = tcpKeepAlive;
        }

        public @Nullable String getApplicationName() {
            return this.applicationName;
        }

        public void setApplicationName(@Nullable String applicationName) {
            this.applicationName = applicationName;
        }

    }

    /**
     * What an unknown property under {@code resilient.db} does.
     */
    public enum UnknownKeys {

        /**
         * Start-up fails, naming each unknown property, where it was set and the nearest valid one.
         */
        FAIL,

        /**
         * One warning per unknown property, with the same facts; the application starts.
         */
        WARN

    }

    /**
     * The connection pooler, if any, between the application and PostgreSQL.
     */
    public enum Pooler {

        /**
         * Direct connections to PostgreSQL (or a pooler that passes every startup parameter through):
         * the statement timeout is a startup parameter ({@code options=-c statement_timeout=...}).
         */
        NONE,

        /**
         * PgBouncer with {@code pool_mode = session}: no {@code options} startup parameter; the statement
         * timeout is set once per connection ({@code SET statement_timeout}), server-side prepared
         * statements stay on.
         */
        PGBOUNCER_SESSION,

        /**
         * PgBouncer with {@code pool_mode = transaction}: no {@code options} startup parameter; the
         * statement timeout is set at the start of every transaction ({@code SET LOCAL statement_timeout})
         * and server-side prepared statements are off ({@code prepareThreshold=0}).
         */
        PGBOUNCER_TRANSACTION;

        /** The value as written in {@code resilient.db.driver.pooler}. */
        public String propertyValue() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

    }

    /**
     * How transient failures are retried by the retrying transaction template and
     * {@code @RetryableTransactional}.
     */
    public static class Retry {

        /**
         * Whether transactions are retried; false makes @RetryableTransactional a plain @Transactional.
         */
        private boolean enabled = true;

        /**
         * Maximum number of attempts of one unit of work, the first included.
         */
        private int maxAttempts = 20;

        /**
         * Maximum number of attempts, the first included, of a unit of work that fails with an
         * optimistic-locking conflict (a stale @Version): enough to re-read a row another transaction
         * just changed, few enough that a stale version sent by a caller fails at once.
         */
        private int optimisticLockMaxAttempts = 3;

        /**
         * Back-off before the first retry.
         */
        private Duration initialInterval = Duration.ofMillis(100);

        /**
         * Factor by which the back-off grows after each retry.
         */
        private double multiplier = 2.0;

        /**
         * Longest back-off between two attempts, jitter included.
         */
        private Duration maxInterval = Duration.ofSeconds(2);

        /**
         * Longest back-off after a serialization failure or deadlock (SQLSTATE class 40), the first
         * included. Such a conflict is over once the other transaction ends; a longer wait only lets
         * newer transactions take the row first.
         */
        private Duration contentionMaxInterval = Duration.ofMillis(400);

        /**
         * Random variation of each back-off, as a fraction (0.5 means up to 50% shorter or longer, but never above the max-interval or contention-max-interval cap), so that callers do not retry in lockstep.
         */
        private double jitter = 0.5;

        /**
         * Time after the first attempt started beyond which no attempt is started; the caller then gets the last failure.
         */
        private Duration deadline = Duration.ofSeconds(10);

        /**
         * Extra SQLSTATEs (five characters) or SQLSTATE classes (two characters) to retry.
         */
        private List<String> retryableSqlStates = new ArrayList<>();

        /**
         * SQLSTATEs or SQLSTATE classes never to retry; wins over every other rule.
         */
        private List<String> nonRetryableSqlStates = new ArrayList<>();

        /**
         * Order of the @RetryableTransactional advice; it must stay below the transaction advice's order (Ordered.LOWEST_PRECEDENCE) so that retry wraps the transaction.
         */
        private int order = Ordered.LOWEST_PRECEDENCE - 1;

        /**
         * Whether a commit whose reply was lost is resolved by asking PostgreSQL (13 or later) what became of the transaction, so that the caller gets its result or a retry instead of a CommitOutcomeUnknownException. Costs one round trip before each writable transaction's commit.
         */
        private boolean resolveCommitOutcome = false;

        private final Budget budget = new Budget();

        public Budget getBudget() {
            return this.budget;
        }

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public int getMaxAttempts() {
            return this.maxAttempts;
        }

        public void setMaxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
        }

        public int getOptimisticLockMaxAttempts() {
            return this.optimisticLockMaxAttempts;
        }

        public void setOptimisticLockMaxAttempts(int optimisticLockMaxAttempts) {
            this.optimisticLockMaxAttempts = optimisticLockMaxAttempts;
        }

        public Duration getInitialInterval() {
            return this.initialInterval;
        }

        public void setInitialInterval(Duration initialInterval) {
            this.initialInterval = initialInterval;
        }

        public double getMultiplier() {
            return this.multiplier;
        }

        public void setMultiplier(double multiplier) {
            this.multiplier = multiplier;
        }

        public Duration getMaxInterval() {
            return this.maxInterval;
        }

        public void setMaxInterval(Duration maxInterval) {
            this.maxInterval = maxInterval;
        }

        public Duration getContentionMaxInterval() {
            return this.contentionMaxInterval;
        }

        public void setContentionMaxInterval(Duration contentionMaxInterval) {
            this.contentionMaxInterval = contentionMaxInterval;
        }

        public double getJitter() {
            return this.jitter;
        }

        public void setJitter(double jitter) {
            this.jitter = jitter;
        }

        public Duration getDeadline() {
            return this.deadline;
        }

        public void setDeadline(Duration deadline) {
            this.deadline = deadline;
        }

        public List<String> getRetryableSqlStates() {
            return this.retryableSqlStates;
        }

        public void setRetryableSqlStates(List<String> retryableSqlStates) {
            this.retryableSqlStates = retryableSqlStates;
        }

        public List<String> getNonRetryableSqlStates() {
            return this.nonRetryableSqlStates;
        }

        public void setNonRetryableSqlStates(List<String> nonRetryableSqlStates) {
            this.nonRetryableSqlStates = nonRetryableSqlStates;
        }

        public int getOrder() {
            return this.order;
        }

        public void setOrder(int order) {
            this.order = order;
        }

        public boolean isResolveCommitOutcome() {
            return this.resolveCommitOutcome;
        }

        public void setResolveCommitOutcome(boolean resolveCommitOutcome) {
            this.resolveCommitOutcome = resolveCommitOutcome;
        }

    }

    /**
     * The database health check behind /actuator/health/db.
     */
    public static class Health {

        /**
         * Whether the starter's database health check replaces Spring Boot's.
         */
        private boolean enabled = true;

        /**
         * Longest time one health check may take; keep it below the probe timeout of Kubernetes (1s by default).
         */
        private Duration timeout = Duration.ofMillis(800);

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Duration getTimeout() {
            return this.timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }

    }

    /**
     * What a Spring MVC application answers when the database fails.
     */
    public static class Web {

        private final ProblemResponses problemResponses = new ProblemResponses();

        public ProblemResponses getProblemResponses() {
            return this.problemResponses;
        }

    }

    /**
     * RFC 9457 problem responses (503 with Retry-After) for the starter's database failures.
     */
    public static class ProblemResponses {

        /**
         * Whether a Spring MVC application answers database failures it does not map itself with RFC 9457 problem responses.
         */
        private boolean enabled = true;

        /**
         * Retry-After of a 503 for a transient database failure that outlasted the retries; while calls fail fast, resilient.db.circuit-breaker.wait-in-open-state is used instead.
         */
        private Duration retryAfter = Duration.ofSeconds(2);

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Duration getRetryAfter() {
            return this.retryAfter;
        }

        public void setRetryAfter(Duration retryAfter) {
            this.retryAfter = retryAfter;
        }

    }

    /**
     * Behaviour while the application starts.
     */
    public static class Startup {

        /**
         * How long start-up waits for the database to accept a connection before it fails; 0 does not wait.
         */
        private Duration waitForDatabase = Duration.ZERO;

        public Duration getWaitForDatabase() {
            return this.waitForDatabase;
        }

        public void setWaitForDatabase(Duration waitForDatabase) {
            this.waitForDatabase = waitForDatabase;
        }

    }

    /**
     * Application-wide cap on retries, so that a struggling database is not hit by a retry storm.
     */
    public static class Budget {

        /**
         * Whether retries are capped.
         */
        private boolean enabled = true;

        /**
         * Retries allowed per first attempt over the last 10 seconds (0.5 means retries may add up to 50% to the load).
         */
        private double ratio = 0.5;

        /**
         * Retries always allowed per second, however few the first attempts.
         */
        private int minRetriesPerSecond = 10;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public double getRatio() {
            return this.ratio;
        }

        public void setRatio(double ratio) {
            this.ratio = ratio;
        }

        public int getMinRetriesPerSecond() {
            return this.minRetriesPerSecond;
        }

        public void setMinRetriesPerSecond(int minRetriesPerSecond) {
            this.minRetriesPerSecond = minRetriesPerSecond;
        }

    }

    /**
     * Failing fast while the database is unavailable, instead of every call waiting for the connection timeout and every retry.
     */
    public static class CircuitBreaker {

        /**
         * Whether calls fail fast while the database is unavailable.
         */
        private boolean enabled = true;

        /**
         * Share of calls in the sliding window (percent) failing with connection errors that makes calls fail fast, for a DataSource without a HikariCP pool.
         */
        private float failureRateThreshold = 90;

        /**
         * Span of recent calls the failure rate is computed over, for a DataSource without a HikariCP pool.
         */
        private Duration slidingWindow = Duration.ofSeconds(10);

        /**
         * Fewest calls in the sliding window before the failure rate counts, for a DataSource without a HikariCP pool.
         */
        private int minimumCalls = 20;

        /**
         * Retry-After of a call refused while the database is unavailable; without a HikariCP pool, also how long calls fail fast before a few trial calls test whether the database is back.
         */
        private Duration waitInOpenState = Duration.ofSeconds(1);

        /**
         * How many trial calls decide whether normal service resumes, for a DataSource without a HikariCP pool.
         */
        private int trialCalls = 3;

        /**
         * How long an outage lasts, from its first evidence, before calls fail fast; the retry deadline when not set.
         */
        private @Nullable Duration openAfter;

        /**
         * Pause between probes of the database, outside the pool, while it looks unavailable.
         */
        private Duration probeInterval = Duration.ofMillis(50);

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public float getFailureRateThreshold() {
            return this.failureRateThreshold;
        }

        public void setFailureRateThreshold(float failureRateThreshold) {
            this.failureRateThreshold = failureRateThreshold;
        }

        public Duration getSlidingWindow() {
            return this.slidingWindow;
        }

        public void setSlidingWindow(Duration slidingWindow) {
            this.slidingWindow = slidingWindow;
        }

        public int getMinimumCalls() {
            return this.minimumCalls;
        }

        public void setMinimumCalls(int minimumCalls) {
            this.minimumCalls = minimumCalls;
        }

        public Duration getWaitInOpenState() {
            return this.waitInOpenState;
        }

        public void setWaitInOpenState(Duration waitInOpenState) {
            this.waitInOpenState = waitInOpenState;
        }

        public int getTrialCalls() {
            return this.trialCalls;
        }

        public void setTrialCalls(int trialCalls) {
            this.trialCalls = trialCalls;
        }

        public @Nullable Duration getOpenAfter() {
            return this.openAfter;
        }

        public void setOpenAfter(@Nullable Duration openAfter) {
            this.openAfter = openAfter;
        }

        public Duration getProbeInterval() {
            return this.probeInterval;
        }

        public void setProbeInterval(Duration probeInterval) {
            this.probeInterval = probeInterval;
        }

    }

}
