package dev.resilientdb.retry;

import java.util.List;
import java.util.Map;

import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import jakarta.persistence.PersistenceException;
import org.hibernate.engine.spi.SessionImplementor;

import org.springframework.orm.jpa.EntityManagerFactoryUtils;
import org.springframework.orm.jpa.EntityManagerHolder;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.ClassUtils;

/**
 * Gives the next attempt a new connection where a JPA {@code EntityManager} is bound to the thread
 * outside any transaction: the one open-in-view binds for a whole web request.
 * {@code JpaTransactionManager} runs every transaction of the request in that one
 * {@code EntityManager}, and Hibernate keeps its JDBC connection until it is closed, so without
 * this the next attempt would begin on the connection that failed the last one.
 * <p>
 * With Hibernate the bound {@code EntityManager} stays, cleared and with its connection given back
 * to the pool (the failed attempt's entities were already cleared by the rollback). Replacing it
 * would leave a second {@code EntityManager} that nobody closes where open-in-view hands the
 * request's one to an async thread and takes it back afterwards ({@code Callable},
 * {@code StreamingResponseBody}), and it would replace a native {@code SessionHolder} that
 * {@code HibernateTransactionManager} and {@code OpenSessionInViewInterceptor} cast to. Other JPA
 * providers have no such operation: their {@code EntityManager} is replaced by a new one, closed by
 * whoever bound the old one on the thread that runs the attempt.
 */
final class RequestBoundEntityManagers {

    private static final ClassLoader classLoader = RequestBoundEntityManagers.class.getClassLoader();

    private static final boolean JPA_PRESENT = ClassUtils.isPresent("jakarta.persistence.EntityManagerFactory", classLoader)
            && ClassUtils.isPresent("org.springframework.orm.jpa.EntityManagerHolder", classLoader);

    private static final boolean HIBERNATE_PRESENT = ClassUtils.isPresent("org.hibernate.engine.spi.SessionImplementor",
            classLoader);

    private RequestBoundEntityManagers() {
    }

    /** Resets every request-bound {@code EntityManager} for a new attempt; does nothing without JPA. */
    static void renew() {
        if (JPA_PRESENT && !TransactionSynchronizationManager.getResourceMap().isEmpty()) {
            Jpa.renew();
        }
    }

    private static final class Jpa {

        static void renew() {
            for (Map.Entry<Object, Object> resource : List.copyOf(TransactionSynchronizationManager.getResourceMap().entrySet())) {
                if (resource.getKey() instanceof EntityManagerFactory factory
                        && resource.getValue() instanceof EntityManagerHolder holder
                        && !holder.isSynchronizedWithTransaction()) {
                    EntityManager entityManager = holder.getEntityManager();
                    if (!(HIBERNATE_PRESENT && entityManager.isOpen() && Hibernate.releaseConnection(entityManager))) {
                        TransactionSynchronizationManager.unbindResource(factory);
                        EntityManagerFactoryUtils.closeEntityManager(entityManager);
                        TransactionSynchronizationManager.bindResource(factory,
                                new EntityManagerHolder(factory.createEntityManager()));
                    }
                }
            }
        }

    }

    private static final class Hibernate {

        /**
         * Clears a Hibernate {@code EntityManager} and gives its connection back to the pool; the
         * next transaction in it takes a new one.
         * @return {@code false} if the {@code EntityManager} is not Hibernate's
         */
        static boolean releaseConnection(EntityManager entityManager) {
            SessionImplementor session;
            try {
                session = entityManager.unwrap(SessionImplementor.class);
            }
            catch (PersistenceException ex) {
                return false;
            }
            session.clear();
            session.getJdbcCoordinator().getLogicalConnection().manualDisconnect();
            return true;
        }

    }

}
