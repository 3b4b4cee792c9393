package dev.resilientdb.jpa;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.retry.RetryableTransactional;

/**
 * A Spring Data JPA service with {@link RetryableTransactional} methods. Every attempt first
 * records the backend pid of its connection, so that a test sees how many attempts ran and on
 * which connections; faults are injected only in the first attempt.
 */
public class AccountService {

    /** What goes wrong in the first attempt of {@link #open}. */
    public enum Fault {

        /** Nothing. */
        NONE,

        /** The backend is terminated after the row was written, then the attempt runs another statement. */
        TERMINATE_BACKEND,

        /** The attempt keeps its connection busy (pg_sleep) until the test restarts the server. */
        PAUSE_UNTIL_RESTART

    }

    private final AccountRepository accounts;

    private final DatabaseFaults faults;

    private final Map<String, List<Integer>> backendPids = new ConcurrentHashMap<>();

    AccountService(AccountRepository accounts, DatabaseFaults faults) {
        this.accounts = accounts;
        this.faults = faults;
    }

    /** Opens an account with a balance of 100; the row is written (flushed) before the fault. */
    @RetryableTransactional
    public void open(String id, Fault fault) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(id, pid);
        this.accounts.saveAndFlush(new Account(id, null, 100));
        if (attempt == 1 && fault == Fault.TERMINATE_BACKEND) {
            this.faults.terminate(pid);
            this.accounts.count();
        }
        else if (attempt == 1 && fault == Fault.PAUSE_UNTIL_RESTART) {
            this.faults.arrived();
            this.accounts.sleep(60);
        }
    }

    /**
     * Loads the account (its SELECT runs) and changes it in memory only: Hibernate sends the UPDATE
     * when the transaction commits. Optionally the backend is terminated in between, so that the
     * flush at commit meets a dead connection before any COMMIT was sent.
     */
    @RetryableTransactional
    public void deposit(String id, int amount, boolean loseConnectionBeforeFlush) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(id, pid);
        Account account = this.accounts.findById(id).orElseThrow();
        account.deposit(amount);
        if (attempt == 1 && loseConnectionBeforeFlush) {
            this.faults.terminate(pid);
        }
    }

    /**
     * Saves the account as the caller sent it, with the version the caller last saw (a REST PUT of
     * a detached entity). A stale version can never succeed, however often it is tried.
     */
    @RetryableTransactional
    public void replace(String id, long version, int balance) {
        recordAttempt(id, this.accounts.backendPid());
        this.accounts.save(new Account(id, version, balance));
    }

    /**
     * Re-reads the account inside the unit of work and adds to it; in the first attempt another
     * client commits a deposit between the read and the flush at commit.
     */
    @RetryableTransactional
    public void addInterest(String id, int amount) {
        int attempt = recordAttempt(id, this.accounts.backendPid());
        Account account = this.accounts.findById(id).orElseThrow();
        if (attempt == 1) {
            this.faults.depositConcurrently(id, 1000);
        }
        account.deposit(amount);
    }

    /** The backend pid of every attempt on the account, in order. */
    public List<Integer> backendPids(String id) {
        return List.copyOf(this.backendPids.getOrDefault(id, List.of()));
    }

    private int recordAttempt(String id, int pid) {
        List<Integer> pids = this.backendPids.computeIfAbsent(id, key -> new CopyOnWriteArrayList<>());
        pids.add(pid);
        return pids.size();
    }

}
