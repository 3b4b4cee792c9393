package dev.resilientdb.jpa;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import javax.sql.DataSource;

import dev.resilientdb.retry.RetryableTransactional;

/**
 * A deposit whose UPDATE Hibernate sends at commit (the entity is changed in memory only), with a
 * fault armed in the first attempt's transaction by the test.
 */
public class LostReplyAccountService {

    private final AccountRepository accounts;

    private final DataSource dataSource;

    private final AtomicInteger attempts = new AtomicInteger();

    LostReplyAccountService(AccountRepository accounts, DataSource dataSource) {
        this.accounts = accounts;
        this.dataSource = dataSource;
    }

    /**
     * Adds to the account's balance and returns the new balance.
     * @param firstAttemptFault run inside the first attempt's transaction, given the DataSource
     */
    @RetryableTransactional
    public int deposit(String id, int amount, Consumer<DataSource> firstAttemptFault) {
        Account account = this.accounts.findById(id).orElseThrow();
        account.deposit(amount);
        if (this.attempts.incrementAndGet() == 1) {
            firstAttemptFault.accept(this.dataSource);
        }
        return account.getBalance();
    }

    public int attempts() {
        return this.attempts.get();
    }

}
