-- Annex 2 (`ghiseul-connector sync`): every run, what ghiseul.ro last acknowledged per
-- register, and the lock that keeps two runs from interleaving. Times are UTC
-- 'YYYY-MM-DD HH:MM:SS'. The same tables as postgres/.

CREATE TABLE sync_runs (
    id                 BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    started_at         VARCHAR(32) NOT NULL,
    finished_at        VARCHAR(32),
    outcome            VARCHAR(16) NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'refused')),
    detail             TEXT,
    tax_types_sent     BIGINT      NOT NULL DEFAULT 0,
    tax_types_left_out BIGINT      NOT NULL DEFAULT 0,
    persons_sent       BIGINT      NOT NULL DEFAULT 0,
    persons_left_out   BIGINT      NOT NULL DEFAULT 0,
    pfa_sent           BIGINT      NOT NULL DEFAULT 0,
    pfa_left_out       BIGINT      NOT NULL DEFAULT 0,
    deletions_sent     BIGINT      NOT NULL DEFAULT 0,
    deletions_left_out BIGINT      NOT NULL DEFAULT 0,
    retries            BIGINT      NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE sync_acks (
    kind            VARCHAR(16) NOT NULL PRIMARY KEY,
    mark            VARCHAR(32) NOT NULL,
    operation       VARCHAR(32) NOT NULL,
    cursor_cod      BIGINT      NOT NULL,
    items           BIGINT      NOT NULL,
    acknowledged_at VARCHAR(32) NOT NULL,
    acknowledged_local VARCHAR(32) NOT NULL,
    run_id          BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE sync_lock (
    id         BIGINT       NOT NULL PRIMARY KEY CHECK (id = 1),
    token      VARCHAR(64)  NOT NULL,
    holder     VARCHAR(255) NOT NULL,
    since      VARCHAR(32)  NOT NULL,
    expires_at VARCHAR(32)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- sync reads persons and PFA in (data, cod) order from a cursor, a page at a time.
CREATE INDEX taxpayers_by_data ON taxpayers (data, cod);
