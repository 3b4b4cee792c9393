package dev.resilientdb.retry;

import java.lang.reflect.Method;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.aop.MethodMatcher;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.interceptor.TransactionAttributeSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which methods the advice applies to: exactly those Spring's transaction advice applies the
 * annotation's transaction to (annotated methods, and the methods of an annotated class a proxy can
 * intercept), never what a class inherits from {@code Object}.
 */
class RetryableTransactionalPointcutTests {

    private final AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext(
            SpringTransactionAdvice.class);

    private final TransactionAttributeSource springAttributes = this.context.getBean(TransactionAttributeSource.class);

    private final MethodMatcher matcher = new RetryableTransactionalAdvisor(
            new RetryableTransactionalInterceptor(this.context, () -> null, () -> null, 0))
        .getPointcut()
        .getMethodMatcher();

    @AfterEach
    void closeContext() {
        this.context.close();
    }

    @Test
    void annotatedMethodMatches() throws Exception {
        assertThat(this.matcher.matches(Plain.class.getMethod("annotated"), Plain.class)).isTrue();
        assertThat(this.matcher.matches(Plain.class.getMethod("notAnnotated"), Plain.class)).isFalse();
    }

    @Test
    void methodsOfAnnotatedClassMatchWhereTransactionalWouldButNotObjects() throws Exception {
        assertThat(this.matcher.matches(Annotated.class.getMethod("work"), Annotated.class)).isTrue();
        for (String name : new String[] { "helper", "secret" }) {
            Method method = Annotated.class.getDeclaredMethod(name);
            assertThat(this.matcher.matches(method, Annotated.class)).as(name)
                .isEqualTo(this.springAttributes.getTransactionAttribute(method, Annotated.class) != null);
        }
        assertThat(this.matcher.matches(Object.class.getMethod("toString"), Annotated.class)).isFalse();
        assertThat(this.matcher.matches(Object.class.getMethod("hashCode"), Annotated.class)).isFalse();
    }

    /** Spring's transaction advice, whose attributes the retry advice pairs with its own. */
    @Configuration(proxyBeanMethods = false)
    @EnableTransactionManagement
    static class SpringTransactionAdvice {

    }

    static class Plain {

        @RetryableTransactional
        public void annotated() {
        }

        public void notAnnotated() {
        }

    }

    @RetryableTransactional
    static class Annotated {

        public void work() {
        }

        void helper() {
        }

        private void secret() {
        }

    }

}
