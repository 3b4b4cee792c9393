package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.RetryableTransactionalAdvisor;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 14: no bean of the starter is created while the bean post-processors are still being
 * registered, so Spring logs no "is not eligible for getting processed by all BeanPostProcessors"
 * at start-up.
 */
@ExtendWith(OutputCaptureExtension.class)
class PropertiesNotInitializedEarlyTests {

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
                ResilientDbAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class,
                ResilientDbHealthAutoConfiguration.class, ResilientDbMetricsAutoConfiguration.class,
                ResilientDbEndpointAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl(),
                "spring.datasource.username=" + this.server.username(),
                "spring.datasource.password=" + this.server.password());

    @Test
    void startedContextLogsNoBeanIneligibleForPostProcessing(CapturedOutput output) {
        this.contextRunner.withPropertyValues("resilient.db.retry.order=100").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(RetryableTransactionalAdvisor.class).getOrder())
                .isEqualTo(100);
        });
        assertThat(output).doesNotContain("is not eligible for getting processed by all BeanPostProcessors");
    }

}
