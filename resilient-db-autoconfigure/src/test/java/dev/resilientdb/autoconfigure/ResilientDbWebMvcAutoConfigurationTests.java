package dev.resilientdb.autoconfigure;

import java.sql.SQLException;
import java.time.Duration;

import dev.resilientdb.retry.FailureClassification;
import dev.resilientdb.retry.SqlStates;
import dev.resilientdb.retry.TransientFailureClassifier;
import dev.resilientdb.web.DatabaseProblemResponses;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.servlet.DispatcherServlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * When the problem responses for Spring MVC are configured, and how. No database is needed: the
 * handlers are called directly here; {@code ProblemResponsesOverHttpTests} answers real requests with
 * a real PostgreSQL.
 */
class ResilientDbWebMvcAutoConfigurationTests {

    private final WebApplicationContextRunner contextRunner = new WebApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(ResilientDbWebMvcAutoConfiguration.class));

    @Test
    void servletWebApplicationGetsTheProblemResponses() {
        this.contextRunner.run(context -> assertThat(context).hasSingleBean(DatabaseProblemResponses.class));
    }

    @Test
    void applicationThatIsNotAServletWebApplicationDoesNot() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(ResilientDbWebMvcAutoConfiguration.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(DatabaseProblemResponses.class));
        new ReactiveWebApplicationContextRunner().withConfiguration(AutoConfigurations.of(ResilientDbWebMvcAutoConfiguration.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(DatabaseProblemResponses.class));
    }

    @Test
    void withoutSpringMvcTheProblemResponsesBackOff() {
        this.contextRunner.withClassLoader(new FilteredClassLoader(DispatcherServlet.class))
            .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(DatabaseProblemResponses.class));
    }

    @Test
    void propertyTurnsTheProblemResponsesOff() {
        this.contextRunner.withPropertyValues("resilient.db.web.problem-responses.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(DatabaseProblemResponses.class));
        this.contextRunner.withPropertyValues("resilient.db.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(DatabaseProblemResponses.class));
    }

    @Test
    void userDefinedProblemResponsesMakeTheAutoConfiguredOnesBackOff() {
        this.contextRunner.withUserConfiguration(UserProblemResponses.class).run(context -> {
            assertThat(context).hasSingleBean(DatabaseProblemResponses.class).doesNotHaveBean("resilientDbProblemResponses");
            assertThat(context.getBean(DatabaseProblemResponses.class)).isSameAs(context.getBean("userProblemResponses"));
        });
    }

    @Test
    void retryAfterOfATransientFailureIsThePropertyRoundedUpToWholeSeconds() {
        this.contextRunner.withPropertyValues("resilient.db.web.problem-responses.retry-after=1500ms").run(context -> {
            ResponseEntity<ProblemDetail> answer = context.getBean(DatabaseProblemResponses.class)
                .databaseFailure(new DataAccessResourceFailureException("gone", new SQLException("refused", "08001")));
            assertThat(answer.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
            assertThat(answer.getHeaders().getFirst("Retry-After")).isEqualTo("2");
        });
    }

    @Test
    void retryAfterMustBePositive() {
        this.contextRunner.withPropertyValues("resilient.db.web.problem-responses.retry-after=0s")
            .run(context -> assertThat(context).hasFailed());
    }

    @Test
    void failuresThatAreNotTransientAreLeftToSpringMvc() {
        this.contextRunner.run(context -> {
            DataIntegrityViolationException duplicate = new DataIntegrityViolationException("duplicate",
                    new SQLException("duplicate key", "23505"));
            assertThatExceptionOfType(DataIntegrityViolationException.class)
                .isThrownBy(() -> context.getBean(DatabaseProblemResponses.class).databaseFailure(duplicate))
                .isSameAs(duplicate);
        });
    }

    @Test
    void userDefinedClassifierDecidesWhichFailuresAnswer503() {
        this.contextRunner.withUserConfiguration(ConstraintsAreTransient.class).run(context -> {
            ResponseEntity<ProblemDetail> answer = context.getBean(DatabaseProblemResponses.class)
                .databaseFailure(new DataIntegrityViolationException("duplicate", new SQLException("duplicate key", "23505")));
            assertThat(answer.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
        });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserProblemResponses {

        @Bean
        DatabaseProblemResponses userProblemResponses() {
            return new DatabaseProblemResponses(failure -> FailureClassification.NOT_TRANSIENT, Duration.ofSeconds(30));
        }

    }

    @Configuration(proxyBeanMethods = false)
    static class ConstraintsAreTransient {

        @Bean
        TransientFailureClassifier constraintsAreTransient() {
            return failure -> "23".equals(SqlStates.classOf(failure)) ? FailureClassification.TRANSIENT
                    : FailureClassification.NOT_TRANSIENT;
        }

    }

}
