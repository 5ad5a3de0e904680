-- The institution's register (tax types, taxpayers, debts) and the payment ledger, for
-- MariaDB (10.5+) and MySQL (8.0.16+). The same tables and columns as postgres/.
-- Money is integer bani everywhere (BIGINT). Dates are ISO text ('YYYY-MM-DD',
-- 'YYYY-MM-DD HH:MM:SS').
--
-- Every table is InnoDB (transactions, row locks, foreign keys) in utf8mb4, so Romanian
-- diacritics (ș, ț, ă, î, â) survive whatever the server's default character set is. The
-- binary collation compares identifiers exactly, as SQLite and PostgreSQL do (no case or
-- trailing-space folding). Keys and indexed text are VARCHAR (MySQL cannot index TEXT
-- whole); other text is TEXT, unbounded as on PostgreSQL.

CREATE TABLE tax_types (
    id_tip_suma    BIGINT       NOT NULL PRIMARY KEY,
    nume           TEXT         NOT NULL,
    -- 0 = not prioritised; 1, 2, ... = unique order of payment (Annex 1).
    prioritate     BIGINT       NOT NULL DEFAULT 0 CHECK (prioritate >= 0),
    iban           VARCHAR(64)  NOT NULL DEFAULT '',
    -- Optional column titles for detaliiHeader, separated by ';' (5 of them); NULL = default.
    detalii_header TEXT,
    -- MySQL has no partial index (`WHERE prioritate > 0`): this computed column is NULL for
    -- priority 0, and a unique index allows many NULLs, so only non-zero priorities must be
    -- unique. Never written; not part of the schema the program reads.
    prioritate_unica BIGINT AS (CASE WHEN prioritate > 0 THEN prioritate END) STORED,
    UNIQUE KEY tax_types_unique_priority (prioritate_unica)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE taxpayers (
    cui    VARCHAR(32) NOT NULL PRIMARY KEY,  -- CNP/NIF (13 digits) or CIF/CUI digits without 'RO'
    nume   TEXT        NOT NULL,
    adresa TEXT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per assessed obligation. The original amounts stay as imported; rest_* is what
-- is still owed after the payments recorded here (see allocations).
CREATE TABLE debts (
    id              BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cui             VARCHAR(32) NOT NULL,
    id_tip_suma     BIGINT      NOT NULL,
    descriere       TEXT        NOT NULL,
    debit           BIGINT      NOT NULL CHECK (debit >= 0),
    ramasita        BIGINT      NOT NULL CHECK (ramasita >= 0),
    majorari        BIGINT      NOT NULL CHECK (majorari >= 0),
    penalitati      BIGINT      NOT NULL CHECK (penalitati >= 0),
    rest_debit      BIGINT      NOT NULL CHECK (rest_debit >= 0),
    rest_ramasita   BIGINT      NOT NULL CHECK (rest_ramasita >= 0),
    rest_majorari   BIGINT      NOT NULL CHECK (rest_majorari >= 0),
    rest_penalitati BIGINT      NOT NULL CHECK (rest_penalitati >= 0),
    scadenta        VARCHAR(10) NOT NULL,
    KEY debts_by_taxpayer (cui, id_tip_suma, scadenta, id),
    CONSTRAINT debts_taxpayer FOREIGN KEY (cui) REFERENCES taxpayers (cui),
    CONSTRAINT debts_tax_type FOREIGN KEY (id_tip_suma) REFERENCES tax_types (id_tip_suma)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every inregistrareIncasari request whose check verified, with the values exactly as
-- received and what was decided. Nothing here is ever updated after the answer left.
-- The received values are MEDIUMTEXT: whatever ghiseul.ro sent fits, however malformed.
CREATE TABLE payment_journal (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    received_at VARCHAR(32) NOT NULL,
    order_text  MEDIUMTEXT  NOT NULL,
    cui_text    MEDIUMTEXT  NOT NULL,
    data_text   MEDIUMTEXT  NOT NULL,
    sume_text   MEDIUMTEXT  NOT NULL,
    outcome     VARCHAR(32) NOT NULL,
    detail      TEXT,
    KEY payment_journal_by_order (order_text(64))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A recorded payment: one per ghiseul.ro order, ever.
CREATE TABLE payments (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_no    BIGINT      NOT NULL,
    cui         VARCHAR(32) NOT NULL,
    data        VARCHAR(32) NOT NULL,
    -- Canonical content (cui, data, amounts per type) that a retry must match.
    content     MEDIUMTEXT  NOT NULL,
    total       BIGINT      NOT NULL CHECK (total > 0),
    journal_id  BIGINT      NOT NULL,
    recorded_at VARCHAR(32) NOT NULL,
    UNIQUE KEY payments_order_no (order_no),
    KEY payments_by_taxpayer (cui),
    CONSTRAINT payments_taxpayer FOREIGN KEY (cui) REFERENCES taxpayers (cui),
    CONSTRAINT payments_journal FOREIGN KEY (journal_id) REFERENCES payment_journal (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE payment_items (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    payment_id  BIGINT NOT NULL,
    id_tip_suma BIGINT NOT NULL,
    valoare     BIGINT NOT NULL CHECK (valoare > 0),
    KEY payment_items_by_payment (payment_id),
    CONSTRAINT payment_items_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
    CONSTRAINT payment_items_tax_type FOREIGN KEY (id_tip_suma) REFERENCES tax_types (id_tip_suma)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Which debt component each ban of a payment went to.
CREATE TABLE allocations (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    payment_id  BIGINT      NOT NULL,
    debt_id     BIGINT      NOT NULL,
    component   VARCHAR(16) NOT NULL CHECK (component IN ('debit', 'ramasita', 'majorari', 'penalitati')),
    amount      BIGINT      NOT NULL CHECK (amount > 0),
    KEY allocations_by_payment (payment_id),
    KEY allocations_by_debt (debt_id),
    CONSTRAINT allocations_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
    CONSTRAINT allocations_debt FOREIGN KEY (debt_id) REFERENCES debts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Money paid beyond what was owed on a tax type: the person's credit, never dropped.
CREATE TABLE credits (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    payment_id  BIGINT      NOT NULL,
    cui         VARCHAR(32) NOT NULL,
    id_tip_suma BIGINT      NOT NULL,
    amount      BIGINT      NOT NULL CHECK (amount > 0),
    KEY credits_by_taxpayer (cui),
    CONSTRAINT credits_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
    CONSTRAINT credits_taxpayer FOREIGN KEY (cui) REFERENCES taxpayers (cui),
    CONSTRAINT credits_tax_type FOREIGN KEY (id_tip_suma) REFERENCES tax_types (id_tip_suma)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
