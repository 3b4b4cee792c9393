package dev.resilientdb.retry;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

import org.aopalliance.aop.Advice;

import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.AopUtils;
import org.springframework.aop.support.StaticMethodMatcherPointcut;
import org.springframework.core.annotation.AnnotatedElementUtils;

/**
 * Applies {@link RetryableTransactionalInterceptor} to classes and methods annotated with
 * {@link RetryableTransactional}. Its order must put it outside the transaction advice (a lower
 * number than {@code @EnableTransactionManagement}'s), so that each retry is a new transaction.
 */
public class RetryableTransactionalAdvisor extends AbstractPointcutAdvisor {

    private final transient RetryableTransactionalInterceptor interceptor;

    private final transient Pointcut pointcut = new RetryableTransactionalPointcut();

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

    /**
     * Annotated methods, and the public methods of an annotated class except those inherited from
     * {@code Object}: the same methods {@code @Transactional} would apply to.
     */
    static final class RetryableTransactionalPointcut extends StaticMethodMatcherPointcut {

        @Override
        public boolean matches(Method method, Class<?> targetClass) {
            Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
            if (AnnotatedElementUtils.hasAnnotation(specific, RetryableTransactional.class)
                    || AnnotatedElementUtils.hasAnnotation(method, RetryableTransactional.class)) {
                return true;
            }
            return Modifier.isPublic(specific.getModifiers()) && specific.getDeclaringClass() != Object.class
                    && AnnotatedElementUtils.hasAnnotation(targetClass, RetryableTransactional.class);
        }

    }

}
