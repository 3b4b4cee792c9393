package dev.resilientdb.retry;

import java.lang.reflect.Method;

import org.junit.jupiter.api.Test;

import org.springframework.aop.MethodMatcher;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which methods the advice applies to: as with {@code @Transactional}, annotated methods and the
 * public methods of an annotated class, never what a class inherits from {@code Object}.
 */
class RetryableTransactionalPointcutTests {

    private final MethodMatcher matcher = new RetryableTransactionalAdvisor.RetryableTransactionalPointcut()
        .getMethodMatcher();

    @Test
    void annotatedMethodMatches() throws Exception {
        assertThat(this.matcher.matches(Plain.class.getMethod("annotated"), Plain.class)).isTrue();
        assertThat(this.matcher.matches(Plain.class.getMethod("notAnnotated"), Plain.class)).isFalse();
    }

    @Test
    void publicMethodsOfAnnotatedClassMatchButNotObjectsOrNonPublicOnes() throws Exception {
        assertThat(this.matcher.matches(Annotated.class.getMethod("work"), Annotated.class)).isTrue();
        Method helper = Annotated.class.getDeclaredMethod("helper");
        assertThat(this.matcher.matches(helper, Annotated.class)).isFalse();
        assertThat(this.matcher.matches(Object.class.getMethod("toString"), Annotated.class)).isFalse();
        assertThat(this.matcher.matches(Object.class.getMethod("hashCode"), Annotated.class)).isFalse();
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

    }

}
