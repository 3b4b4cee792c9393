package dev.resilientdb.retry;

import org.aopalliance.aop.Advice;

import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.ComposablePointcut;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;

/**
 * Applies {@link RetryableTransactionalInterceptor} to classes and methods annotated with
 * {@link RetryableTransactional}. Its order must put it outside the transaction advice (a lower
 * number than {@code @EnableTransactionManagement}'s), so that each retry is a new transaction.
 */
public class RetryableTransactionalAdvisor extends AbstractPointcutAdvisor {

    private final transient RetryableTransactionalInterceptor interceptor;

    private final transient Pointcut pointcut = new ComposablePointcut(
            new AnnotationMatchingPointcut(RetryableTransactional.class, true))
        .union(AnnotationMatchingPointcut.forMethodAnnotation(RetryableTransactional.class));

    public RetryableTransactionalAdvisor(RetryableTransactionalInterceptor interceptor, int order) {
        this.interceptor = interceptor;
        setOrder(order);
    }

    @Override
    public Pointcut getPointcut() {
        return this.pointcut;
    }

    @Override
    public Advice getAdvice() {
        return this.interceptor;
    }

}
