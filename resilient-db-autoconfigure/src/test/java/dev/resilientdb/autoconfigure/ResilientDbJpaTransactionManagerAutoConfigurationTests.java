package dev.resilientdb.autoconfigure;

import java.util.List;

import dev.resilientdb.retry.ResilientJpaTransactionManager;
import dev.resilientdb.test.PostgresServer;
import dev.resilientdb.test.PostgresServers;
import jakarta.persistence.EntityManagerFactory;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.condition.ConditionEvaluationReport;
import org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.transaction.TransactionManager;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Conditions of {@link ResilientDbJpaTransactionManagerAutoConfiguration}, with Spring Boot's JPA
 * auto-configuration on a real PostgreSQL (Hibernate reads the server's metadata at start-up).
 */
class ResilientDbJpaTransactionManagerAutoConfigurationTests {

    private final PostgresServer server = PostgresServers.shared();

    private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                TransactionManagerCustomizationAutoConfiguration.class, HibernateJpaAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class, ResilientDbTransactionManagerAutoConfiguration.class,
                ResilientDbJpaTransactionManagerAutoConfiguration.class))
        .withPropertyValues("spring.datasource.url=" + this.server.jdbcUrl(),
                "spring.datasource.username=" + this.server.username(),
                "spring.datasource.password=" + this.server.password());

    @Test
    void replacesBootsJpaTransactionManager() {
        this.contextRunner.run(context -> {
            assertThat(context).hasSingleBean(TransactionManager.class)
                .getBean("transactionManager")
                .isExactlyInstanceOf(ResilientJpaTransactionManager.class);
            assertThat(context.getBean(JpaTransactionManager.class).getEntityManagerFactory())
                .isSameAs(context.getBean(EntityManagerFactory.class));
        });
    }

    @Test
    void appliesTransactionManagerProperties() {
        this.contextRunner.withPropertyValues("spring.transaction.default-timeout=7s")
            .run(context -> assertThat(context.getBean(JpaTransactionManager.class).getDefaultTimeout()).isEqualTo(7));
    }

    @Test
    void backsOffWhenTheApplicationHasATransactionManager() {
        this.contextRunner.withUserConfiguration(OwnTransactionManager.class)
            .run(context -> assertThat(context).getBean(TransactionManager.class)
                .isExactlyInstanceOf(JpaTransactionManager.class));
    }

    @Test
    void backsOffWhenResilientDbIsOff() {
        this.contextRunner.withPropertyValues("resilient.db.enabled=false")
            .run(context -> assertThat(context).getBean(TransactionManager.class)
                .isExactlyInstanceOf(JpaTransactionManager.class));
    }

    /** An application that configures JPA itself: no entity manager factory for the starter's manager to find. */
    @Test
    void backsOffWhenTheApplicationExcludedBootsJpaAutoConfiguration() {
        new ApplicationContextRunner()
            .withInitializer((context) -> ConditionEvaluationReport.get(context.getBeanFactory())
                .recordExclusions(List.of(HibernateJpaAutoConfiguration.class.getName())))
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                    TransactionManagerCustomizationAutoConfiguration.class,
                    ResilientDbJpaTransactionManagerAutoConfiguration.class))
            .withPropertyValues("spring.datasource.url=jdbc:postgresql://localhost:5432/app")
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(TransactionManager.class));
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnTransactionManager {

        @Bean
        JpaTransactionManager ownTransactionManager(EntityManagerFactory entityManagerFactory) {
            return new JpaTransactionManager(entityManagerFactory);
        }

    }

}
