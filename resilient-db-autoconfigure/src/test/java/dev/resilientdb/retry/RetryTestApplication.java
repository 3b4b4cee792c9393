package dev.resilientdb.retry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.autoconfigure.ResilientDbAutoConfiguration;
import dev.resilientdb.autoconfigure.ResilientDbRetryAutoConfiguration;
import dev.resilientdb.test.PostgresServer;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * An application context as a Spring Boot application with the starter would have it, on a real
 * PostgreSQL server, with retry settings small enough for tests.
 */
final class RetryTestApplication {

    static final AutoConfigurations AUTO_CONFIGURATIONS = AutoConfigurations.of(DataSourceAutoConfiguration.class,
            DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
            TransactionAutoConfiguration.class, AopAutoConfiguration.class, ResilientDbAutoConfiguration.class,
            ResilientDbRetryAutoConfiguration.class);

    private RetryTestApplication() {
    }

    static ApplicationContextRunner on(PostgresServer server, String applicationName) {
        return new ApplicationContextRunner().withConfiguration(AUTO_CONFIGURATIONS)
            .withBean(RecordingListener.class)
            .withPropertyValues("spring.datasource.url=" + server.jdbcUrl(),
                    "spring.datasource.username=" + server.username(),
                    "spring.datasource.password=" + server.password(),
                    "resilient.db.driver.application-name=" + applicationName,
                    "resilient.db.retry.initial-interval=50ms", "resilient.db.retry.max-interval=500ms",
                    "resilient.db.retry.deadline=15s");
    }

    /** Records every retry event, so that a test can count attempts as the engine saw them. */
    static class RecordingListener implements TransactionRetryListener {

        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void onRetry(int attempt, Throwable failure, Duration delay) {
            this.events.add("retry " + attempt + " " + SqlStates.of(failure));
        }

        @Override
        public void onSuccessAfterRetry(int attempts, Throwable lastFailure) {
            this.events.add("success after " + attempts);
        }

        @Override
        public void onExhausted(int attempts, Throwable lastFailure) {
            this.events.add("exhausted after " + attempts + " " + SqlStates.of(lastFailure));
        }

        @Override
        public void onCommitOutcomeUnknown(int attempt, Throwable failure) {
            this.events.add("commit unknown " + attempt);
        }

        long retries() {
            return this.events.stream().filter(event -> event.startsWith("retry")).count();
        }

    }

}
