package dev.resilientdb.jpa;

import java.util.UUID;

import org.springframework.data.jpa.repository.JpaRepository;

/** Outbox rows through Spring Data JPA. */
public interface OutboxEventRepository extends JpaRepository<OutboxEvent, UUID> {

}
