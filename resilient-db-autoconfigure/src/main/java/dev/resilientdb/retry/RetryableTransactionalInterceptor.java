package dev.resilientdb.retry;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;

import org.springframework.aop.ProxyMethodInvocation;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.annotation.BeanFactoryAnnotationUtils;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.interceptor.NoRollbackRuleAttribute;
import org.springframework.transaction.interceptor.RollbackRuleAttribute;
import org.springframework.transaction.interceptor.RuleBasedTransactionAttribute;
import org.springframework.util.StringUtils;

/**
 * The advice behind {@link RetryableTransactional}: runs the method through the application's
 * {@link RetryingTransactionTemplate}, with the annotation's attributes. Each attempt proceeds on a
 * fresh copy of the invocation, so the advice chain inside (and the method) runs again.
 */
public class RetryableTransactionalInterceptor implements MethodInterceptor {

    private final Supplier<RetryingTransactionTemplate> template;

    private final BeanFactory beanFactory;

    private final Map<Method, Use> uses = new ConcurrentHashMap<>();

    /**
     * @param template the application's retrying template, whose engine and defaults every use shares;
     * asked for on first use, so that creating the advice does not create the transaction manager early
     * @param beanFactory where transaction managers named by {@link RetryableTransactional#transactionManager()} are found
     */
    public RetryableTransactionalInterceptor(Supplier<RetryingTransactionTemplate> template, BeanFactory beanFactory) {
        this.template = template;
        this.beanFactory = beanFactory;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> targetClass = (invocation.getThis() != null) ? AopUtils.getTargetClass(invocation.getThis()) : null;
        Use use = this.uses.computeIfAbsent(invocation.getMethod(), method -> use(method, targetClass));
        if (use == null) {
            return invocation.proceed();
        }
        Outcome outcome;
        try {
            outcome = use.template().execute(status -> {
                try {
                    return Outcome.returned(proceedCopy(invocation));
                }
                catch (RuntimeException | Error ex) {
                    if (use.attribute().rollbackOn(ex)) {
                        throw ex;
                    }
                    return Outcome.thrown(ex);
                }
                catch (Throwable ex) {
                    if (use.attribute().rollbackOn(ex)) {
                        throw new CheckedFailure(ex);
                    }
                    return Outcome.thrown(ex);
                }
            });
        }
        catch (CheckedFailure ex) {
            throw ex.getCause();
        }
        return outcome.get();
    }

    private static Object proceedCopy(MethodInvocation invocation) throws Throwable {
        if (invocation instanceof ProxyMethodInvocation proxyInvocation) {
            return proxyInvocation.invocableClone().proceed();
        }
        return invocation.proceed();
    }

    private Use use(Method method, Class<?> targetClass) {
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        RetryableTransactional annotation = AnnotatedElementUtils.findMergedAnnotation(specific, RetryableTransactional.class);
        if (annotation == null && targetClass != null) {
            annotation = AnnotatedElementUtils.findMergedAnnotation(targetClass, RetryableTransactional.class);
        }
        if (annotation == null) {
            return null;
        }
        RuleBasedTransactionAttribute attribute = new RuleBasedTransactionAttribute();
        attribute.setName(method.getDeclaringClass().getName() + "." + method.getName());
        attribute.setPropagationBehavior(annotation.propagation().value());
        attribute.setIsolationLevel(annotation.isolation().value());
        attribute.setTimeout(annotation.timeout());
        attribute.setReadOnly(annotation.readOnly());
        List<RollbackRuleAttribute> rules = new ArrayList<>();
        for (Class<? extends Throwable> type : annotation.rollbackFor()) {
            rules.add(new RollbackRuleAttribute(type));
        }
        for (Class<? extends Throwable> type : annotation.noRollbackFor()) {
            rules.add(new NoRollbackRuleAttribute(type));
        }
        attribute.setRollbackRules(rules);
        RetryingTransactionTemplate shared = this.template.get();
        RetrySettings settings = (annotation.maxAttempts() > 0)
                ? shared.getRetrySettings().withMaxAttempts(annotation.maxAttempts()) : shared.getRetrySettings();
        RetryingTransactionTemplate template = shared.with(attribute, settings, annotation.idempotent());
        if (StringUtils.hasText(annotation.transactionManager())) {
            template.setTransactionManager(BeanFactoryAnnotationUtils.qualifiedBeanOfType(this.beanFactory,
                    PlatformTransactionManager.class, annotation.transactionManager()));
        }
        return new Use(template, attribute);
    }

    private record Use(RetryingTransactionTemplate template, RuleBasedTransactionAttribute attribute) {
    }

    /** What the method did in an attempt that committed: returned a value, or threw a non-rollback exception. */
    private record Outcome(Object value, Throwable failure) {

        static Outcome returned(Object value) {
            return new Outcome(value, null);
        }

        static Outcome thrown(Throwable failure) {
            return new Outcome(null, failure);
        }

        Object get() throws Throwable {
            if (this.failure != null) {
                throw this.failure;
            }
            return this.value;
        }

    }

    /** Carries a checked exception that must roll back through the template, which only rolls back unchecked ones. */
    private static final class CheckedFailure extends RuntimeException {

        CheckedFailure(Throwable cause) {
            super(null, cause, false, false);
        }

    }

}
