package dev.resilientdb.jpa;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.ManyToOne;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/** A monthly statement of an {@link Account}: an entity with an association. */
@Entity
@Table(name = "jpa_statements")
public class MonthlyStatement {

    @Id
    private String id;

    @Version
    private Long version;

    @ManyToOne
    private Account account;

    private int total;

    protected MonthlyStatement() {
    }

    public String getId() {
        return this.id;
    }

    public int getTotal() {
        return this.total;
    }

    void add(int amount) {
        this.total += amount;
    }

}
