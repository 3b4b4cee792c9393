package dev.resilientdb.retry;

import org.jspecify.annotations.Nullable;

import org.springframework.aop.Advisor;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.core.Ordered;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionManager;
import org.springframework.transaction.config.TransactionManagementConfigUtils;
import org.springframework.transaction.interceptor.TransactionAspectSupport;
import org.springframework.transaction.interceptor.TransactionAttribute;
import org.springframework.transaction.interceptor.TransactionAttributeSource;

/**
 * What the retry advice needs to know of Spring's transaction advice: its attribute source, its
 * order, and the transaction manager it will use for a method of a target class. The manager is
 * resolved by Spring's own {@code determineTransactionManager}, configured as Spring's advice is
 * (the attribute's qualifier, then the target class's {@code @Qualifier}, then the manager of a
 * {@code TransactionManagementConfigurer}, then the single or primary one), so the retry advice
 * judges joins and counts failures against the manager that actually runs the transaction.
 */
final class TransactionAdvice extends TransactionAspectSupport {

    @Nullable
    private final Integer order;

    private TransactionAdvice(TransactionAspectSupport spring, ListableBeanFactory beanFactory, @Nullable Integer order) {
        setTransactionAttributeSource(spring.getTransactionAttributeSource());
        setTransactionManager(spring.getTransactionManager());
        setBeanFactory(beanFactory);
        this.order = order;
    }

    /**
     * Spring's transaction advice as {@code @EnableTransactionManagement} registers it: the proxy
     * mode's advisor, or the AspectJ mode's aspect (woven into the class, so always inside a proxy's
     * advice and without an order to compare).
     * @return the advice, or {@code null} when the application has none
     */
    @Nullable
    static TransactionAdvice find(ListableBeanFactory beanFactory) {
        if (beanFactory.containsBean(TransactionManagementConfigUtils.TRANSACTION_ADVISOR_BEAN_NAME)) {
            Advisor advisor = beanFactory.getBean(TransactionManagementConfigUtils.TRANSACTION_ADVISOR_BEAN_NAME,
                    Advisor.class);
            if (advisor.getAdvice() instanceof TransactionAspectSupport spring) {
                int order = (advisor instanceof Ordered ordered) ? ordered.getOrder() : Ordered.LOWEST_PRECEDENCE;
                return new TransactionAdvice(spring, beanFactory, order);
            }
        }
        if (beanFactory.containsBean(TransactionManagementConfigUtils.TRANSACTION_ASPECT_BEAN_NAME)
                && beanFactory.getBean(TransactionManagementConfigUtils.TRANSACTION_ASPECT_BEAN_NAME)
                        instanceof TransactionAspectSupport aspect) {
            return new TransactionAdvice(aspect, beanFactory, null);
        }
        return null;
    }

    /** The order of Spring's transaction advisor, or {@code null} when the transaction advice is woven in. */
    @Nullable
    Integer order() {
        return this.order;
    }

    TransactionAttributeSource attributes() {
        TransactionAttributeSource attributes = getTransactionAttributeSource();
        if (attributes == null) {
            throw new IllegalStateException("Spring's transaction advice has no transaction attribute source");
        }
        return attributes;
    }

    /** The transaction manager Spring's transaction advice uses for a method with these attributes on the target class. */
    PlatformTransactionManager transactionManager(TransactionAttribute attribute, @Nullable Class<?> targetClass) {
        TransactionManager transactionManager = determineTransactionManager(attribute, targetClass);
        if (!(transactionManager instanceof PlatformTransactionManager platformTransactionManager)) {
            throw new IllegalStateException("@RetryableTransactional needs a PlatformTransactionManager; the"
                    + " transaction manager of this method is " + ((transactionManager != null)
                            ? transactionManager.getClass().getName() : "none"));
        }
        return platformTransactionManager;
    }

}
