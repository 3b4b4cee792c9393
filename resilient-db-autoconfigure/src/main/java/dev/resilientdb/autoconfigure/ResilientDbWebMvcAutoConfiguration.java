package dev.resilientdb.autoconfigure;

import dev.resilientdb.retry.SqlStateFailureClassifier;
import dev.resilientdb.retry.TransientFailureClassifier;
import dev.resilientdb.web.DatabaseProblemResponses;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.webmvc.autoconfigure.WebMvcAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.http.ProblemDetail;
import org.springframework.web.servlet.DispatcherServlet;

/**
 * Auto-configuration of RFC 9457 problem responses for the database failures a Spring MVC
 * application does not map itself ({@link DatabaseProblemResponses}: 503 with {@code Retry-After}
 * while the database is unavailable). Off with
 * {@code resilient.db.web.problem-responses.enabled=false}; a bean of the same type replaces it, and
 * any {@code @ExceptionHandler} of the application for these exceptions answers before it.
 */
@AutoConfiguration(after = { WebMvcAutoConfiguration.class, ResilientDbRetryAutoConfiguration.class })
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({ DispatcherServlet.class, ProblemDetail.class })
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = ResilientDbProperties.PREFIX + ".web.problem-responses.enabled", matchIfMissing = true)
@EnableConfigurationProperties(ResilientDbProperties.class)
public class ResilientDbWebMvcAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    DatabaseProblemResponses resilientDbProblemResponses(ResilientDbProperties properties,
            ObjectProvider<TransientFailureClassifier> classifier) {
        return new DatabaseProblemResponses(classifier.getIfUnique(SqlStateFailureClassifier::new),
                properties.getWeb().getProblemResponses().getRetryAfter());
    }

}
