package dev.resilientdb.autoconfigure;

import java.util.List;

import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.annotation.AnnotationAwareOrderComparator;
import org.springframework.core.env.Environment;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.support.SpringFactoriesLoader;
import org.springframework.core.io.support.SpringFactoriesLoader.ArgumentResolver;
import org.springframework.core.io.support.SpringFactoriesLoader.FailureHandler;

/**
 * The failure analysis Spring Boot would print for a start-up failure: every registered
 * {@link FailureAnalyzer}, Spring Boot's and the starter's, asked in order, the first answer wins.
 */
final class StartupFailureAnalysis {

    private StartupFailureAnalysis() {
    }

    static FailureAnalysis of(Throwable failure) {
        ArgumentResolver arguments = ArgumentResolver.of(Environment.class, new StandardEnvironment())
            .and(BeanFactory.class, new DefaultListableBeanFactory());
        List<FailureAnalyzer> analyzers = SpringFactoriesLoader
            .forDefaultResourceLocation(StartupFailureAnalysis.class.getClassLoader())
            .load(FailureAnalyzer.class, arguments, FailureHandler.logging(LogFactory.getLog(StartupFailureAnalysis.class)));
        AnnotationAwareOrderComparator.sort(analyzers);
        for (FailureAnalyzer analyzer : analyzers) {
            FailureAnalysis analysis = analyzer.analyze(failure);
            if (analysis != null) {
                return analysis;
            }
        }
        return null;
    }

}
