package dev.resilientdb.autoconfigure;

import javax.sql.DataSource;

import dev.resilientdb.retry.ResilientJpaTransactionManager;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizers;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.transaction.TransactionManager;

/**
 * Auto-configuration of the JPA transaction manager Spring Boot's Hibernate auto-configuration would
 * create, as a {@link ResilientJpaTransactionManager}: a rollback that fails on a connection a fault
 * already closed does not replace the failure, so a fault the retries ride out keeps its own failure
 * instead of Spring's "exception overridden by rollback exception" at ERROR. Runs before Spring
 * Boot's, which then backs off; backs off itself for an application's own transaction manager and
 * when the application excluded Spring Boot's Hibernate auto-configuration (it then configures JPA,
 * and its transaction manager, itself).
 */
@AutoConfiguration(beforeName = ResilientDbJpaTransactionManagerAutoConfiguration.HIBERNATE_JPA_AUTO_CONFIGURATION,
        after = { DataSourceAutoConfiguration.class, TransactionManagerCustomizationAutoConfiguration.class })
@ConditionalOnClass(name = { "org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean",
        "jakarta.persistence.EntityManager", "org.hibernate.engine.spi.SessionImplementor" })
@ConditionalOnSingleCandidate(DataSource.class)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@Conditional(OnAutoConfigurationNotExcludedCondition.HibernateJpa.class)
public final class ResilientDbJpaTransactionManagerAutoConfiguration {

    static final String HIBERNATE_JPA_AUTO_CONFIGURATION = "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration";

    @Bean
    @ConditionalOnMissingBean(TransactionManager.class)
    JpaTransactionManager transactionManager(ObjectProvider<TransactionManagerCustomizers> transactionManagerCustomizers) {
        JpaTransactionManager transactionManager = new ResilientJpaTransactionManager();
        transactionManagerCustomizers.ifAvailable((customizers) -> customizers.customize(transactionManager));
        return transactionManager;
    }

}
