-- Payments out (issue 13): exports to the tax system with exactly-once consumers, the
-- exceptions a person handles, and the web console's users. The same tables as sqlite/
-- (whose comments explain them), in InnoDB/utf8mb4 with VARCHAR keys.

CREATE TABLE payout_state (
    id       BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO payout_state (id, last_seq) VALUES (1, 0);

CREATE TABLE payout_sequence (
    seq        BIGINT      NOT NULL PRIMARY KEY,
    item_id    BIGINT      NOT NULL UNIQUE,
    stamped_at VARCHAR(32) NOT NULL,
    FOREIGN KEY (item_id) REFERENCES payment_items (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE payout_consumers (
    name        VARCHAR(191) NOT NULL PRIMARY KEY,
    last_seq    BIGINT       NOT NULL DEFAULT 0,
    pending_seq BIGINT,
    pending_tmp TEXT,
    updated_at  VARCHAR(32)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE admin_audit (
    id     BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at     VARCHAR(32)  NOT NULL,
    actor  VARCHAR(191) NOT NULL,
    action VARCHAR(64)  NOT NULL,
    detail TEXT         NOT NULL,
    KEY admin_audit_by_time (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE exceptions_handled (
    kind       VARCHAR(16)  NOT NULL,
    ref_id     BIGINT       NOT NULL,
    handled_at VARCHAR(32)  NOT NULL,
    handled_by VARCHAR(191) NOT NULL,
    note       TEXT         NOT NULL,
    PRIMARY KEY (kind, ref_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE console_users (
    name          VARCHAR(191) NOT NULL PRIMARY KEY,
    password_hash TEXT         NOT NULL,
    created_at    VARCHAR(32)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
