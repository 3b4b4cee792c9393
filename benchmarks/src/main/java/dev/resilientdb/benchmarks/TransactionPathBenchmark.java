package dev.resilientdb.benchmarks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbRetryAutoConfiguration;
import dev.resilientdb.retry.RetryableTransactional;
import dev.resilientdb.retry.RetryingTransactionTemplate;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

/**
 * The cost of the retrying path when nothing fails: a one-row update on a real PostgreSQL through
 * {@code @RetryableTransactional}, through the retrying {@code TransactionTemplate} bean, through
 * plain {@code @Transactional}, and as raw JDBC on a pooled HikariCP connection (autocommit). All
 * four share one application context, one pool and one server; each thread updates its own row, so
 * no lock is contended.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = { "-Xmx512m", "-Dresilientdb.test.postgres=embedded" })
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Threads(2)
public class TransactionPathBenchmark {

    static final String UPDATE = "UPDATE counters SET n = n + 1 WHERE id = ?";

    static final int ROWS = 64;

    /** Where the forked benchmark JVM leaves the server's version for the report. */
    static final java.nio.file.Path SERVER_VERSION_FILE = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"),
            "resilient-db-benchmark-postgres-version");

    private PostgresServer server;

    private ConfigurableApplicationContext context;

    /** The same application with {@code resilient.db.retry.resolve-commit-outcome=true}, on its own pool. */
    private ConfigurableApplicationContext resolvingContext;

    Counters resolvingCounters;

    RetryingTransactionTemplate resolvingTemplate;

    JdbcTemplate resolvingJdbc;

    Counters counters;

    RetryingTransactionTemplate template;

    JdbcTemplate jdbc;

    DataSource dataSource;

    private final AtomicInteger nextRow = new AtomicInteger();

    @Setup(Level.Trial)
    public void start() {
        this.server = PostgresServers.startDedicated();
        this.server.execute("CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)");
        this.server.execute("INSERT INTO counters SELECT i, 0 FROM generate_series(0, " + (ROWS - 1) + ") i");
        this.server.execute("GRANT ALL ON counters TO " + PostgresServer.APP_USER);
        try {
            java.nio.file.Files.writeString(SERVER_VERSION_FILE, this.server.queryColumn("SHOW server_version").get(0));
        }
        catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
        this.context = application("resilient.db.retry.resolve-commit-outcome=false");
        this.resolvingContext = application("resilient.db.retry.resolve-commit-outcome=true");
        this.resolvingCounters = this.resolvingContext.getBean(Counters.class);
        this.resolvingTemplate = this.resolvingContext.getBean(RetryingTransactionTemplate.class);
        this.resolvingJdbc = this.resolvingContext.getBean(JdbcTemplate.class);
        this.counters = this.context.getBean(Counters.class);
        this.template = this.context.getBean(RetryingTransactionTemplate.class);
        this.jdbc = this.context.getBean(JdbcTemplate.class);
        this.dataSource = this.context.getBean(DataSource.class);
    }

    private ConfigurableApplicationContext application(String resolution) {
        return new SpringApplicationBuilder(Application.class).web(WebApplicationType.NONE)
            .logStartupInfo(false)
            .properties("spring.main.banner-mode=off", "logging.level.root=warn",
                    "spring.datasource.url=" + this.server.jdbcUrl(),
                    "spring.datasource.username=" + this.server.username(),
                    "spring.datasource.password=" + this.server.password(), resolution)
            .run();
    }

    @TearDown(Level.Trial)
    public void stop() {
        if (this.resolvingContext != null) {
            this.resolvingContext.close();
        }
        if (this.context != null) {
            this.context.close();
        }
        if (this.server != null) {
            this.server.close();
        }
    }

    /** The row a benchmark thread updates: its own, so threads never wait on each other's locks. */
    @State(Scope.Thread)
    public static class Row {

        int id;

        @Setup(Level.Trial)
        public void pick(TransactionPathBenchmark benchmark) {
            this.id = benchmark.nextRow.getAndIncrement() % ROWS;
        }

    }

    @Benchmark
    public int retryableTransactional(Row row) {
        return this.counters.incrementRetryable(row.id);
    }

    @Benchmark
    public Integer retryingTemplate(Row row) {
        return this.template.execute((status) -> this.jdbc.update(UPDATE, row.id));
    }

    @Benchmark
    public int retryableTransactionalResolving(Row row) {
        return this.resolvingCounters.incrementRetryable(row.id);
    }

    @Benchmark
    public Integer retryingTemplateResolving(Row row) {
        return this.resolvingTemplate.execute((status) -> this.resolvingJdbc.update(UPDATE, row.id));
    }

    @Benchmark
    public int plainTransactional(Row row) {
        return this.counters.incrementTransactional(row.id);
    }

    @Benchmark
    public int rawJdbc(Row row) throws Exception {
        try (var connection = this.dataSource.getConnection();
                var statement = connection.prepareStatement(UPDATE)) {
            statement.setInt(1, row.id);
            return statement.executeUpdate();
        }
    }

    /** The application the benchmark runs: Spring Boot's JDBC and transaction auto-configuration and the starter. */
    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration({ DataSourceAutoConfiguration.class, DataSourceTransactionManagerAutoConfiguration.class,
            JdbcTemplateAutoConfiguration.class, TransactionAutoConfiguration.class, AopAutoConfiguration.class,
            ResilientDbAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class })
    static class Application {

        @Bean
        Counters counters(JdbcTemplate jdbc) {
            return new Counters(jdbc);
        }

        /** Observations on, as with Spring Boot's Actuator: a unit of work pays for them only when it retries. */
        @Bean
        ObservationRegistry observationRegistry() {
            ObservationRegistry registry = ObservationRegistry.create();
            registry.observationConfig().observationHandler(new DefaultMeterObservationHandler(new SimpleMeterRegistry()));
            return registry;
        }

    }

    /** A service with the same update behind each of the two annotations. */
    public static class Counters {

        private final JdbcTemplate jdbc;

        public Counters(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @RetryableTransactional
        public int incrementRetryable(int id) {
            return this.jdbc.update(UPDATE, id);
        }

        @Transactional
        public int incrementTransactional(int id) {
            return this.jdbc.update(UPDATE, id);
        }

    }

}
