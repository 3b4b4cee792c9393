package dev.resilientdb.autoconfigure;

import org.springframework.boot.autoconfigure.condition.ConditionEvaluationReport;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches unless the application excluded an auto-configuration of Spring Boot's (with
 * {@code spring.autoconfigure.exclude} or {@code @EnableAutoConfiguration(exclude = ...)}), as the
 * conditions report records it: the starter replaces a bean of that auto-configuration only where
 * Spring Boot would have created it.
 */
abstract class OnAutoConfigurationNotExcludedCondition extends SpringBootCondition {

    private final String autoConfiguration;

    OnAutoConfigurationNotExcludedCondition(String autoConfiguration) {
        this.autoConfiguration = autoConfiguration;
    }

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        ConditionMessage.Builder message = ConditionMessage.forCondition("Auto-configuration not excluded");
        if (context.getBeanFactory() != null && ConditionEvaluationReport.get(context.getBeanFactory())
            .getExclusions()
            .contains(this.autoConfiguration)) {
            return ConditionOutcome.noMatch(message.because(this.autoConfiguration + " is excluded"));
        }
        return ConditionOutcome.match(message.because(this.autoConfiguration + " is not excluded"));
    }

    /** Spring Boot's Hibernate JPA auto-configuration is not excluded. */
    static final class HibernateJpa extends OnAutoConfigurationNotExcludedCondition {

        HibernateJpa() {
            super(ResilientDbJpaTransactionManagerAutoConfiguration.HIBERNATE_JPA_AUTO_CONFIGURATION);
        }

    }

}
