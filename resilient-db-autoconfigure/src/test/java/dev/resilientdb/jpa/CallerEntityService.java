package dev.resilientdb.jpa;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Deposits in the idioms a Spring Data JPA application writes them, each with a real fault in its
 * first attempt when asked. Every deposit also writes its own row to {@code jpa_deposits} (same
 * transaction, through JDBC), so that a test compares the balance with the deposits that committed:
 * a deposit applied twice or lost shows as a difference. Every attempt records the balance it found
 * when it started, so a test sees what the retried attempt saw.
 */
public class CallerEntityService {

    /** What goes wrong in the first attempt of a deposit. */
    public enum Fault {

        /** Nothing. */
        NONE,

        /** The backend is terminated after the change, before Hibernate flushes it. */
        FLUSH,

        /** The flush succeeds; COMMIT fails with a serialization failure (40001, a deferred trigger). */
        COMMIT

    }

    private final AccountRepository accounts;

    private final JdbcTemplate jdbc;

    private final DatabaseFaults faults;

    private final MonthlyStatementRepository statements;

    private final Map<String, List<Integer>> seenBalances = new ConcurrentHashMap<>();

    CallerEntityService(AccountRepository accounts, JdbcTemplate jdbc, DatabaseFaults faults,
            MonthlyStatementRepository statements) {
        this.statements = statements;
        this.accounts = accounts;
        this.jdbc = jdbc;
        this.faults = faults;
    }

    /** The entity the caller holds, changed and saved: the most common Spring Data idiom. */
    @RetryableTransactional
    public void depositSaved(Account account, int amount, String deposit, Fault fault) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(deposit, account.getBalance());
        account.deposit(amount);
        this.accounts.save(account);
        record(account.getId(), amount, deposit, attempt, pid, fault);
    }

    /** The entity the caller holds, changed only: dirty checking is to write it. */
    @RetryableTransactional
    public void depositDirtyChecked(Account account, int amount, String deposit, Fault fault) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(deposit, account.getBalance());
        account.deposit(amount);
        record(account.getId(), amount, deposit, attempt, pid, fault);
    }

    /** An entity with an association, passed in, changed and saved. */
    @RetryableTransactional
    public void addToStatement(MonthlyStatement statement, int amount, Fault fault) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(statement.getId(), statement.getTotal());
        statement.add(amount);
        this.statements.save(statement);
        record("statement", amount, statement.getId(), attempt, pid, fault);
    }

    /** The id passed, the entity loaded inside the unit of work. */
    @RetryableTransactional
    public void depositById(String id, int amount, String deposit, Fault fault) {
        int pid = this.accounts.backendPid();
        Account account = this.accounts.findById(id).orElseThrow();
        int attempt = recordAttempt(deposit, account.getBalance());
        account.deposit(amount);
        record(id, amount, deposit, attempt, pid, fault);
    }

    /**
     * A plain (non-entity) argument that the unit of work changes: the engine passes it to each
     * attempt as it is.
     */
    @RetryableTransactional
    public void depositRequest(DepositRequest request, Fault fault) {
        int pid = this.accounts.backendPid();
        int attempt = recordAttempt(request.deposit, request.amount);
        request.amount += 1;
        Account account = this.accounts.findById(request.account).orElseThrow();
        account.deposit(request.amount);
        record(request.account, request.amount, request.deposit, attempt, pid, fault);
    }

    /** The balance every attempt of the deposit found when it started, in order. */
    public List<Integer> seenBalances(String deposit) {
        return List.copyOf(this.seenBalances.getOrDefault(deposit, List.of()));
    }

    /**
     * The pid is read when the attempt starts: a native query makes Hibernate flush what is pending,
     * and the fault must come before the flush.
     */
    private void record(String account, int amount, String deposit, int attempt, int pid, Fault fault) {
        this.jdbc.update("INSERT INTO jpa_deposits (id, account, amount) VALUES (?, ?, ?)", deposit, account, amount);
        if (attempt == 1 && fault == Fault.COMMIT) {
            this.jdbc.execute("SET LOCAL resilientdb.fail_commit = 'on'");
        }
        else if (attempt == 1 && fault == Fault.FLUSH) {
            this.faults.terminate(pid);
        }
    }

    private int recordAttempt(String deposit, int balance) {
        List<Integer> seen = this.seenBalances.computeIfAbsent(deposit, key -> new CopyOnWriteArrayList<>());
        seen.add(balance);
        return seen.size();
    }

    /** A mutable request object, as a controller might bind it. */
    public static class DepositRequest {

        final String account;

        final String deposit;

        int amount;

        DepositRequest(String account, String deposit, int amount) {
            this.account = account;
            this.deposit = deposit;
            this.amount = amount;
        }

    }

}
