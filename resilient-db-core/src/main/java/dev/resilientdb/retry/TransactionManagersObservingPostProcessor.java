package dev.resilientdb.retry;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.ConfigurableTransactionManager;

/**
 * Lets the retry engine see where every transaction manager of the application commits (see
 * {@code CommitPoints}), before any transaction runs on it.
 */
public class TransactionManagersObservingPostProcessor implements BeanPostProcessor {

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof PlatformTransactionManager transactionManager
                && bean instanceof ConfigurableTransactionManager) {
            CommitPoints.observe(transactionManager);
        }
        return bean;
    }

}
