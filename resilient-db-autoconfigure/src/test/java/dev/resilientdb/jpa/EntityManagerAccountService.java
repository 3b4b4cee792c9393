package dev.resilientdb.jpa;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.orm.jpa.SharedEntityManagerCreator;

/**
 * A service that uses the shared JPA {@link EntityManager} directly, without Spring Data or
 * {@code @Repository}: nothing translates its exceptions, so a conflict reaches the retry boundary
 * as JPA's own {@code OptimisticLockException}.
 */
public class EntityManagerAccountService {

    private final EntityManager entityManager;

    private final DatabaseFaults faults;

    private final List<Integer> attempts = new CopyOnWriteArrayList<>();

    EntityManagerAccountService(EntityManagerFactory entityManagerFactory, DatabaseFaults faults) {
        this.entityManager = SharedEntityManagerCreator.createSharedEntityManager(entityManagerFactory);
        this.faults = faults;
    }

    /**
     * Re-reads the account and adds to it, flushing explicitly; in the first attempt another client
     * commits a deposit between the read and the flush.
     */
    @RetryableTransactional
    public void addInterest(String id, int amount) {
        this.attempts.add(this.attempts.size() + 1);
        Account account = this.entityManager.find(Account.class, id);
        if (this.attempts.size() == 1) {
            this.faults.depositConcurrently(id, 1000);
        }
        account.deposit(amount);
        this.entityManager.flush();
    }

    int attempts() {
        return this.attempts.size();
    }

}
