package dev.resilientdb.retry;

import org.springframework.transaction.interceptor.BeanFactoryTransactionAttributeSourceAdvisor;

/**
 * Applies {@link RetryableTransactionalInterceptor} where {@link RetryableTransactional} applies,
 * with Spring's own transaction pointcut asking the interceptor's attribute source. Its order must
 * put it outside the transaction advice (a lower number than {@code @EnableTransactionManagement}'s),
 * so that each retry is a new transaction; the interceptor fails start-up where it is not.
 */
public class RetryableTransactionalAdvisor extends BeanFactoryTransactionAttributeSourceAdvisor {

    public RetryableTransactionalAdvisor(RetryableTransactionalInterceptor interceptor) {
        setTransactionAttributeSource(interceptor.getAttributeSource());
        setAdvice(interceptor);
        setOrder(interceptor.getOrder());
    }

}
