-- The institution's register (tax types, taxpayers, debts) and the payment ledger.
-- Money is integer bani everywhere. Dates are ISO text ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS').

CREATE TABLE tax_types (
    id_tip_suma    INTEGER PRIMARY KEY,
    nume           TEXT    NOT NULL,
    -- 0 = not prioritised; 1, 2, ... = unique order of payment (Annex 1).
    prioritate     INTEGER NOT NULL DEFAULT 0 CHECK (prioritate >= 0),
    iban           TEXT    NOT NULL DEFAULT '',
    -- Optional column titles for detaliiHeader, separated by ';' (5 of them); NULL = default.
    detalii_header TEXT
);
CREATE UNIQUE INDEX tax_types_unique_priority ON tax_types (prioritate) WHERE prioritate > 0;

CREATE TABLE taxpayers (
    cui    TEXT PRIMARY KEY,  -- CNP/NIF (13 digits) or CIF/CUI digits without 'RO'
    nume   TEXT NOT NULL,
    adresa TEXT NOT NULL DEFAULT ''
);

-- One row per assessed obligation. The original amounts stay as imported; rest_* is what
-- is still owed after the payments recorded here (see allocations).
CREATE TABLE debts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    cui             TEXT    NOT NULL REFERENCES taxpayers (cui),
    id_tip_suma     INTEGER NOT NULL REFERENCES tax_types (id_tip_suma),
    descriere       TEXT    NOT NULL DEFAULT '',
    debit           INTEGER NOT NULL CHECK (debit >= 0),
    ramasita        INTEGER NOT NULL CHECK (ramasita >= 0),
    majorari        INTEGER NOT NULL CHECK (majorari >= 0),
    penalitati      INTEGER NOT NULL CHECK (penalitati >= 0),
    rest_debit      INTEGER NOT NULL CHECK (rest_debit >= 0),
    rest_ramasita   INTEGER NOT NULL CHECK (rest_ramasita >= 0),
    rest_majorari   INTEGER NOT NULL CHECK (rest_majorari >= 0),
    rest_penalitati INTEGER NOT NULL CHECK (rest_penalitati >= 0),
    scadenta        TEXT    NOT NULL
);
CREATE INDEX debts_by_taxpayer ON debts (cui, id_tip_suma, scadenta, id);

-- Every inregistrareIncasari request whose check verified, with the values exactly as
-- received and what was decided. Nothing here is ever updated after the answer left.
CREATE TABLE payment_journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    order_text  TEXT NOT NULL,
    cui_text    TEXT NOT NULL,
    data_text   TEXT NOT NULL,
    sume_text   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX payment_journal_by_order ON payment_journal (order_text);

-- A recorded payment: one per ghiseul.ro order, ever.
CREATE TABLE payments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no    INTEGER NOT NULL UNIQUE,
    cui         TEXT    NOT NULL REFERENCES taxpayers (cui),
    data        TEXT    NOT NULL,
    -- Canonical content (cui, data, amounts per type) that a retry must match.
    content     TEXT    NOT NULL,
    total       INTEGER NOT NULL CHECK (total > 0),
    journal_id  INTEGER NOT NULL REFERENCES payment_journal (id),
    recorded_at TEXT    NOT NULL
);
CREATE INDEX payments_by_taxpayer ON payments (cui);

CREATE TABLE payment_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    id_tip_suma INTEGER NOT NULL REFERENCES tax_types (id_tip_suma),
    valoare     INTEGER NOT NULL CHECK (valoare > 0)
);
CREATE INDEX payment_items_by_payment ON payment_items (payment_id);

-- Which debt component each ban of a payment went to.
CREATE TABLE allocations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    debt_id     INTEGER NOT NULL REFERENCES debts (id),
    component   TEXT    NOT NULL CHECK (component IN ('debit', 'ramasita', 'majorari', 'penalitati')),
    amount      INTEGER NOT NULL CHECK (amount > 0)
);
CREATE INDEX allocations_by_payment ON allocations (payment_id);
CREATE INDEX allocations_by_debt ON allocations (debt_id);

-- Money paid beyond what was owed on a tax type: the person's credit, never dropped.
CREATE TABLE credits (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  INTEGER NOT NULL REFERENCES payments (id),
    cui         TEXT    NOT NULL REFERENCES taxpayers (cui),
    id_tip_suma INTEGER NOT NULL REFERENCES tax_types (id_tip_suma),
    amount      INTEGER NOT NULL CHECK (amount > 0)
);
CREATE INDEX credits_by_taxpayer ON credits (cui);
