package dev.resilientdb.jpa;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.context.ApplicationEventPublisher;
import org.springframework.transaction.event.TransactionPhase;
import org.springframework.transaction.event.TransactionalEventListener;

/**
 * Opens accounts with the transactional-outbox pattern: the service publishes an event, and a
 * {@code BEFORE_COMMIT} listener writes the outbox row in the same transaction. In the first
 * attempt the listener terminates the backend before it saves, so that Hibernate's flush of the
 * outbox row meets a dead connection.
 */
public class OutboxAccountService {

    private final AccountRepository accounts;

    private final ApplicationEventPublisher events;

    private final Map<String, List<Integer>> backendPids = new ConcurrentHashMap<>();

    OutboxAccountService(AccountRepository accounts, ApplicationEventPublisher events) {
        this.accounts = accounts;
        this.events = events;
    }

    @RetryableTransactional
    public void open(String id) {
        int pid = this.accounts.backendPid();
        List<Integer> pids = this.backendPids.computeIfAbsent(id, key -> new CopyOnWriteArrayList<>());
        pids.add(pid);
        this.accounts.save(new Account(id, null, 100));
        this.events.publishEvent(new AccountOpened(id, pids.size(), pid));
    }

    /** The backend pid of every attempt on the account, in order. */
    public List<Integer> backendPids(String id) {
        return List.copyOf(this.backendPids.getOrDefault(id, List.of()));
    }

    /** Published by {@link #open} in each attempt. */
    record AccountOpened(String id, int attempt, int backendPid) {
    }

    /** Writes the outbox row of an opened account just before its transaction commits. */
    static class OutboxWriter {

        private final OutboxEventRepository outbox;

        private final DatabaseFaults faults;

        OutboxWriter(OutboxEventRepository outbox, DatabaseFaults faults) {
            this.outbox = outbox;
            this.faults = faults;
        }

        @TransactionalEventListener(phase = TransactionPhase.BEFORE_COMMIT)
        void write(AccountOpened opened) {
            if (opened.attempt() == 1) {
                this.faults.terminate(opened.backendPid());
            }
            this.outbox.save(new OutboxEvent(opened.id()));
        }

    }

}
