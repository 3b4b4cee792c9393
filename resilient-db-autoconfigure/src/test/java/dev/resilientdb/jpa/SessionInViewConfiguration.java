package dev.resilientdb.jpa;

import jakarta.persistence.EntityManagerFactory;

import org.springframework.context.annotation.Configuration;
import org.springframework.orm.jpa.support.OpenEntityManagerInViewInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Binds one Hibernate session to each web request for a {@code HibernateTransactionManager}, as
 * the Spring line in use does it. Spring Framework 7 has no {@code OpenSessionInViewInterceptor}:
 * its {@code HibernateTransactionManager} takes the {@code EntityManager} that
 * {@link OpenEntityManagerInViewInterceptor} binds. (The Spring Boot 3.5 line has its own version
 * of this class.) Use with {@code spring.jpa.open-in-view=false}.
 */
@Configuration(proxyBeanMethods = false)
class SessionInViewConfiguration implements WebMvcConfigurer {

    private final EntityManagerFactory entityManagerFactory;

    SessionInViewConfiguration(EntityManagerFactory entityManagerFactory) {
        this.entityManagerFactory = entityManagerFactory;
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        OpenEntityManagerInViewInterceptor interceptor = new OpenEntityManagerInViewInterceptor();
        interceptor.setEntityManagerFactory(this.entityManagerFactory);
        registry.addWebRequestInterceptor(interceptor);
    }

}
