package dev.resilientdb.jpa;

import jakarta.persistence.EntityManagerFactory;
import org.hibernate.SessionFactory;

import org.springframework.context.annotation.Configuration;
import org.springframework.orm.hibernate5.support.OpenSessionInViewInterceptor;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Binds one Hibernate session to each web request for a {@code HibernateTransactionManager}, as
 * the Spring line in use does it. On Spring Framework 6.2 that is {@link OpenSessionInViewInterceptor}:
 * its {@code HibernateTransactionManager} takes only the {@code SessionHolder} that binds, not
 * open-in-view's {@code EntityManagerHolder}. (The Spring Boot 4 line's version of this class
 * differs.) Use with {@code spring.jpa.open-in-view=false}.
 */
@Configuration(proxyBeanMethods = false)
class SessionInViewConfiguration implements WebMvcConfigurer {

    private final EntityManagerFactory entityManagerFactory;

    SessionInViewConfiguration(EntityManagerFactory entityManagerFactory) {
        this.entityManagerFactory = entityManagerFactory;
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        OpenSessionInViewInterceptor interceptor = new OpenSessionInViewInterceptor();
        interceptor.setSessionFactory((SessionFactory) this.entityManagerFactory);
        registry.addWebRequestInterceptor(interceptor);
    }

}
