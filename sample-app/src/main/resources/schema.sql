-- Tables of the sample, created at start-up (spring.sql.init.mode=always); safe to run again.
CREATE TABLE IF NOT EXISTS jobs (
    id              uuid        PRIMARY KEY,
    account         text        NOT NULL,
    type            text        NOT NULL,
    status          text        NOT NULL,
    created_at      timestamptz NOT NULL,
    -- Every job has one: the client's Idempotency-Key header, or a UUID the server made up.
    idempotency_key text        NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS account_usage (
    account text   PRIMARY KEY,
    jobs    bigint NOT NULL
);
