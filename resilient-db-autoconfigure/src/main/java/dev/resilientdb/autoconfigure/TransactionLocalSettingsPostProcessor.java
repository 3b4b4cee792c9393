package dev.resilientdb.autoconfigure;

import java.time.Duration;

import dev.resilientdb.autoconfigure.ResilientDbProperties.Pooler;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.transaction.ConfigurableTransactionManager;

/**
 * Behind a transaction-pooling PgBouncer ({@code resilient.db.driver.pooler=pgbouncer-transaction}),
 * makes every transaction manager set the isolation level and {@code resilient.db.driver.statement-timeout}
 * at the start of each transaction (see {@link TransactionLocalSettings}); in every other mode it does nothing.
 */
class TransactionLocalSettingsPostProcessor implements BeanPostProcessor {

    private final ObjectProvider<ResilientDbProperties> properties;

    TransactionLocalSettingsPostProcessor(ObjectProvider<ResilientDbProperties> properties) {
        this.properties = properties;
    }

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof ConfigurableTransactionManager transactionManager) {
            ResilientDbProperties.Driver driver = this.properties.getObject().getDriver();
            Duration timeout = driver.getStatementTimeout();
            if (driver.getPooler() == Pooler.PGBOUNCER_TRANSACTION && timeout != null) {
                TransactionLocalSettings.install(transactionManager, timeout);
            }
        }
        return bean;
    }

}
