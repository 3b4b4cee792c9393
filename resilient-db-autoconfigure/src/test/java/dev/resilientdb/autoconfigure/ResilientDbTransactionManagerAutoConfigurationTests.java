package dev.resilientdb.autoconfigure;

import javax.sql.DataSource;

import dev.resilientdb.retry.ResilientJdbcTransactionManager;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.TransactionManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions of {@link ResilientDbTransactionManagerAutoConfiguration}. No database is needed: the
 * pool is never used here.
 */
class ResilientDbTransactionManagerAutoConfigurationTests {

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                TransactionManagerCustomizationAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class,
                ResilientDbTransactionManagerAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app");

    @Test
    void replacesBootsJdbcTransactionManager() {
        this.contextRunner.run(context -> assertThat(context).hasSingleBean(TransactionManager.class)
            .getBean("transactionManager")
            .isExactlyInstanceOf(ResilientJdbcTransactionManager.class));
    }

    @Test
    void appliesTransactionManagerProperties() {
        this.contextRunner.withPropertyValues("spring.transaction.default-timeout=7s")
            .run(context -> assertThat(context.getBean(DataSourceTransactionManager.class).getDefaultTimeout())
                .isEqualTo(7));
    }

    @Test
    void backsOffWhenTheApplicationHasATransactionManager() {
        this.contextRunner.withUserConfiguration(OwnTransactionManager.class)
            .run(context -> assertThat(context).getBean(TransactionManager.class)
                .isExactlyInstanceOf(DataSourceTransactionManager.class));
    }

    @Test
    void backsOffWhenResilientDbIsOff() {
        this.contextRunner.withPropertyValues("resilient.db.enabled=false")
            .run(context -> assertThat(context).getBean(TransactionManager.class)
                .isExactlyInstanceOf(JdbcTransactionManager.class));
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnTransactionManager {

        @Bean
        DataSourceTransactionManager ownTransactionManager(DataSource dataSource) {
            return new DataSourceTransactionManager(dataSource);
        }

    }

}
