package dev.resilientdb.sample;

import org.apache.catalina.core.StandardHost;

import org.springframework.boot.tomcat.TomcatContextCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Tomcat settings that {@code application.yml} cannot express.
 */
@Configuration(proxyBeanMethods = false)
class TomcatConfiguration {

    /** Problem bodies, not HTML, for the errors Tomcat answers itself. */
    @Bean
    TomcatContextCustomizer problemErrorReports() {
        return (context) -> {
            if (context.getParent() instanceof StandardHost host) {
                host.setErrorReportValveClass(ProblemErrorReportValve.class.getName());
            }
        };
    }

}
