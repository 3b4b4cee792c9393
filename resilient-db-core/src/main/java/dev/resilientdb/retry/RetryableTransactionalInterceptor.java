package dev.resilientdb.retry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;

import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.annotation.BeanFactoryAnnotationUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.util.StringUtils;
import org.springframework.util.function.SingletonSupplier;

/**
 * The retry advice behind {@link RetryableTransactional}. It runs outside Spring's transaction
 * advice and leaves the transaction to it: each attempt proceeds on a fresh copy of the invocation,
 * so the transaction advice inside begins and ends a new transaction, and the method runs again.
 * The retry itself is the {@link RetryEngine}'s, as for {@link RetryingTransactionTemplate}.
 */
public class RetryableTransactionalInterceptor implements MethodInterceptor {

    private final RetryAttributeSource attributes;

    private final Supplier<RetryEngine> engine;

    private final Supplier<RetrySettings> settings;

    private final BeanFactory beanFactory;

    private final Map<String, PlatformTransactionManager> transactionManagers = new ConcurrentHashMap<>();

    /**
     * @param transactionAttributes the source Spring's transaction advice uses, asked for on first use
     * @param engine the retry engine, asked for on first use
     * @param settings the default retry settings, asked for on first use
     * @param beanFactory where the transaction managers are found, by qualifier as Spring's transaction advice finds them
     */
    public RetryableTransactionalInterceptor(Supplier<TransactionAttributeSource> transactionAttributes,
            Supplier<RetryEngine> engine, Supplier<RetrySettings> settings, BeanFactory beanFactory) {
        this.attributes = new RetryAttributeSource(SingletonSupplier.of(transactionAttributes));
        // Looked up once, not on every call: a bean lookup costs more than the rest of the advice.
        this.engine = SingletonSupplier.of(engine);
        this.settings = SingletonSupplier.of(settings);
        this.beanFactory = beanFactory;
    }

    /** Where the pointcut and this advice find each method's retry and transaction attributes. */
    TransactionAttributeSource getAttributeSource() {
        return this.attributes;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> targetClass = (invocation.getThis() != null) ? AopUtils.getTargetClass(invocation.getThis()) : null;
        RetryAttribute retry = (RetryAttribute) this.attributes.getTransactionAttribute(invocation.getMethod(), targetClass);
        if (retry == null) {
            return invocation.proceed();
        }
        return this.engine.get().execute(transactionManager(retry.getQualifier()), retry,
                retry.settings(this.settings.get()), retry.isIdempotent(), invocation.getArguments(),
                () -> proceedCopy(invocation));
    }

    private static Object proceedCopy(MethodInvocation invocation) throws Throwable {
        if (invocation instanceof ProxyMethodInvocation proxyInvocation) {
            return proxyInvocation.invocableClone().proceed();
        }
        return invocation.proceed();
    }

    private PlatformTransactionManager transactionManager(String qualifier) {
        String key = (qualifier != null) ? qualifier : "";
        return this.transactionManagers.computeIfAbsent(key, name -> {
            PlatformTransactionManager transactionManager = StringUtils.hasText(name)
                    ? BeanFactoryAnnotationUtils.qualifiedBeanOfType(this.beanFactory, PlatformTransactionManager.class, name)
                    : this.beanFactory.getBean(PlatformTransactionManager.class);
            CommitPoints.observe(transactionManager);
            return transactionManager;
        });
    }

}
