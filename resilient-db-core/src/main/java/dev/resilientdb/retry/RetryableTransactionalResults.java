package dev.resilientdb.retry;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;

import org.springframework.aop.framework.AbstractAdvisingBeanPostProcessor;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.transaction.NoTransactionException;
import org.springframework.transaction.interceptor.TransactionAspectSupport;

/**
 * Keeps what a {@link RetryableTransactional} method returns inside its own transaction, so that when
 * the reply to that transaction's commit is lost and the server says it committed, the caller gets
 * the result instead of an exception. Added as the innermost advice of each proxy the retry advice
 * is on (after Spring's transaction advice), the way {@code @Async} adds its own to an existing proxy.
 */
public class RetryableTransactionalResults extends AbstractAdvisingBeanPostProcessor {

    public RetryableTransactionalResults(RetryableTransactionalAdvisor retryAdvisor) {
        this.advisor = new DefaultPointcutAdvisor(retryAdvisor.getPointcut(), new ResultKeeper());
        setBeforeExistingAdvisors(false);
    }

    /**
     * Only proxies that exist already (those of the transaction and retry advice) get the advice: a bean
     * without them is not retried, and a proxy of its own would change the bean's type for nothing.
     */
    @Override
    protected boolean isEligible(Object bean, String beanName) {
        return bean instanceof Advised && super.isEligible(bean, beanName);
    }

    private static final class ResultKeeper implements MethodInterceptor {

        @Override
        public Object invoke(MethodInvocation invocation) throws Throwable {
            Object result = invocation.proceed();
            try {
                return CommitPoints.returned(TransactionAspectSupport.currentTransactionStatus(), result);
            }
            catch (NoTransactionException ex) {
                return result;
            }
        }

    }

}
