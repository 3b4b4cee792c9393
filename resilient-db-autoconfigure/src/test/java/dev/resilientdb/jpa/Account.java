package dev.resilientdb.jpa;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/** A bank account with optimistic locking, as a Spring Data JPA application would map it. */
@Entity
@Table(name = "jpa_accounts")
public class Account {

    @Id
    private String id;

    @Version
    private Long version;

    private int balance;

    protected Account() {
    }

    /**
     * @param version {@code null} for a new account; otherwise the version the caller last saw,
     * which Hibernate checks when it merges the account
     */
    Account(String id, Long version, int balance) {
        this.id = id;
        this.version = version;
        this.balance = balance;
    }

    public String getId() {
        return this.id;
    }

    public Long getVersion() {
        return this.version;
    }

    public int getBalance() {
        return this.balance;
    }

    void deposit(int amount) {
        this.balance += amount;
    }

}
