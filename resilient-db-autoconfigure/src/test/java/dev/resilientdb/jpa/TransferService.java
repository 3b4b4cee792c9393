package dev.resilientdb.jpa;

import java.util.UUID;

import dev.resilientdb.retry.RetryableTransactional;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A transfer between two accounts that is not idempotent: run twice, it moves the money twice. The
 * balances change through the entities (Hibernate flushes them at commit), the transfer is recorded
 * under the caller's id in the same transaction.
 */
public class TransferService {

    private final AccountRepository accounts;

    private final JdbcTemplate jdbc;

    TransferService(AccountRepository accounts, JdbcTemplate jdbc) {
        this.accounts = accounts;
        this.jdbc = jdbc;
    }

    @RetryableTransactional
    public UUID transfer(UUID id, String from, String to, int amount) {
        this.accounts.findById(from).orElseThrow().deposit(-amount);
        this.accounts.findById(to).orElseThrow().deposit(amount);
        this.jdbc.update("INSERT INTO jpa_transfers VALUES (?, ?, ?, ?)", id, from, to, amount);
        return id;
    }

}
