package dev.resilientdb.jpa;

import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/**
 * A transactional-outbox row, written in the same transaction as the change it announces. Its id
 * is generated in memory, so that saving it is a plain persist that Hibernate sends at the flush.
 */
@Entity
@Table(name = "jpa_outbox")
public class OutboxEvent {

    @Id
    @GeneratedValue(strategy = GenerationType.UUID)
    private UUID id;

    private String accountId;

    protected OutboxEvent() {
    }

    OutboxEvent(String accountId) {
        this.accountId = accountId;
    }

    public UUID getId() {
        return this.id;
    }

    public String getAccountId() {
        return this.accountId;
    }

}
