-- Tables of the sample, created at start-up (spring.sql.init.mode=always); safe to run again.
CREATE TABLE IF NOT EXISTS visits (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    page       text        NOT NULL,
    visited_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS page_views (
    page  text   PRIMARY KEY,
    views bigint NOT NULL
);
