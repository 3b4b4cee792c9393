package dev.resilientdb.retry;

import java.util.List;
import java.util.Map;

import jakarta.persistence.EntityManagerFactory;

import org.springframework.orm.jpa.EntityManagerFactoryUtils;
import org.springframework.orm.jpa.EntityManagerHolder;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.util.ClassUtils;

/**
 * Replaces, between two attempts, a JPA {@code EntityManager} bound to the thread outside any
 * transaction: the one open-in-view binds for a whole web request. {@code JpaTransactionManager}
 * runs every transaction of the request in that one {@code EntityManager}, and Hibernate keeps
 * its JDBC connection until it is closed, so without this the next attempt would begin on the
 * connection that failed the last one. The failed attempt's entities were already cleared by the
 * rollback; the new {@code EntityManager} is closed by whoever bound the old one.
 */
final class RequestBoundEntityManagers {

    private static final boolean JPA_PRESENT = ClassUtils.isPresent("jakarta.persistence.EntityManagerFactory",
            RequestBoundEntityManagers.class.getClassLoader())
            && ClassUtils.isPresent("org.springframework.orm.jpa.EntityManagerHolder",
                    RequestBoundEntityManagers.class.getClassLoader());

    private RequestBoundEntityManagers() {
    }

    /** Replaces every request-bound {@code EntityManager} by a new one; does nothing without JPA. */
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
                    TransactionSynchronizationManager.unbindResource(factory);
                    EntityManagerFactoryUtils.closeEntityManager(holder.getEntityManager());
                    TransactionSynchronizationManager.bindResource(factory,
                            new EntityManagerHolder(factory.createEntityManager()));
                }
            }
        }

    }

}
