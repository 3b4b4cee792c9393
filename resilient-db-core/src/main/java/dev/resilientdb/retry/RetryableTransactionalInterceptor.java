package dev.resilientdb.retry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.core.Ordered;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.util.function.SingletonSupplier;

/**
 * The retry advice behind {@link RetryableTransactional}. It runs outside Spring's transaction
 * advice and leaves the transaction to it: each attempt proceeds on a fresh copy of the invocation,
 * so the transaction advice inside begins and ends a new transaction, and the method runs again.
 * The retry itself is the {@link RetryEngine}'s, as for {@link RetryingTransactionTemplate}.
 * <p>
 * When it is applied to a bean, it checks every annotated method of the bean's class and fails with
 * a {@link RetryAdviceConfigurationException} where it could not keep its promise: no Spring
 * transaction advice, a retry advice not ordered outside it, a propagation without a transaction, a
 * plain {@code @Transactional} with other attributes on the same element, or an asynchronous result.
 */
public class RetryableTransactionalInterceptor implements MethodInterceptor, Ordered {

    private final RetryAttributeSource attributes;

    private final Supplier<RetryEngine> engine;

    private final Supplier<RetrySettings> settings;

    private final SingletonSupplier<TransactionAdvice> transactionAdvice;

    private final int order;

    private final Map<PlatformTransactionManager, Boolean> observed = new ConcurrentHashMap<>();

    /**
     * @param beanFactory where Spring's transaction advice and the transaction managers are found, on first use
     * @param engine the retry engine, asked for on first use
     * @param settings the default retry settings, asked for on first use
     * @param order the order of this advice, lower than the transaction advice's
     */
    public RetryableTransactionalInterceptor(ListableBeanFactory beanFactory, Supplier<RetryEngine> engine,
            Supplier<RetrySettings> settings, int order) {
        this.transactionAdvice = SingletonSupplier.ofNullable(() -> TransactionAdvice.find(beanFactory));
        this.attributes = new RetryAttributeSource(this::transactionAdvice);
        // Looked up once, not on every call: a bean lookup costs more than the rest of the advice.
        this.engine = SingletonSupplier.of(engine);
        this.settings = SingletonSupplier.of(settings);
        this.order = order;
    }

    /** Where the pointcut and this advice find each method's retry and transaction attributes. */
    TransactionAttributeSource getAttributeSource() {
        return this.attributes;
    }

    @Override
    public int getOrder() {
        return this.order;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> targetClass = (invocation.getThis() != null) ? AopUtils.getTargetClass(invocation.getThis()) : null;
        RetryAttribute retry = (RetryAttribute) this.attributes.getTransactionAttribute(invocation.getMethod(), targetClass);
        if (retry == null) {
            return invocation.proceed();
        }
        return this.engine.get().execute(transactionManager(retry, targetClass), retry,
                retry.settings(this.settings.get()), retry.isIdempotent(), invocation.getArguments(),
                () -> proceedCopy(invocation));
    }

    private static Object proceedCopy(MethodInvocation invocation) throws Throwable {
        if (invocation instanceof ProxyMethodInvocation proxyInvocation) {
            return proxyInvocation.invocableClone().proceed();
        }
        return invocation.proceed();
    }

    private PlatformTransactionManager transactionManager(RetryAttribute retry, @Nullable Class<?> targetClass) {
        PlatformTransactionManager transactionManager = transactionAdvice("@RetryableTransactional")
            .transactionManager(retry, targetClass);
        this.observed.computeIfAbsent(transactionManager, manager -> {
            CommitPoints.observe(manager);
            return Boolean.TRUE;
        });
        return transactionManager;
    }

    /**
     * Spring's transaction advice, checked against this one's order.
     * @param use the annotated method, for the message
     * @throws RetryAdviceConfigurationException when there is none, or this advice would run inside it
     */
    private TransactionAdvice transactionAdvice(String use) {
        TransactionAdvice advice = this.transactionAdvice.get();
        if (advice == null) {
            throw RetryAdviceConfigurationException.noTransactionAdvice(use);
        }
        if (advice.order() != null && this.order >= advice.order()) {
            throw RetryAdviceConfigurationException.insideTransactionAdvice(use, this.order, advice.order());
        }
        return advice;
    }

}
