-- Annex 2 (`ghiseul-connector sync`): every run, what ghiseul.ro last acknowledged per
-- register, and the lock that keeps two runs from interleaving. Times are UTC
-- 'YYYY-MM-DD HH:MM:SS'.

-- One row per run (not per --dry-run): when, how it ended, and per register how many
-- records were sent and how many were left out (invalid or duplicate identifiers, tax types
-- without a valid IBAN, ...).
CREATE TABLE sync_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at         TEXT    NOT NULL,
    finished_at        TEXT,
    outcome            TEXT    NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'refused')),
    detail             TEXT,
    tax_types_sent     INTEGER NOT NULL DEFAULT 0,
    tax_types_left_out INTEGER NOT NULL DEFAULT 0,
    persons_sent       INTEGER NOT NULL DEFAULT 0,
    persons_left_out   INTEGER NOT NULL DEFAULT 0,
    pfa_sent           INTEGER NOT NULL DEFAULT 0,
    pfa_left_out       INTEGER NOT NULL DEFAULT 0,
    deletions_sent     INTEGER NOT NULL DEFAULT 0,
    deletions_left_out INTEGER NOT NULL DEFAULT 0,
    retries            INTEGER NOT NULL DEFAULT 0
);

-- Per register (tax_types, persons, pfa, deletions): the last record of the last packet
-- ghiseul.ro answered 0 to — its `data` (`mark`; for deletions its code) and `cod`
-- (`cursor_cod`) — and when, in UTC and in Romanian local time (the clock of `data`).
CREATE TABLE sync_acks (
    kind            TEXT    PRIMARY KEY,
    mark            TEXT    NOT NULL,
    operation       TEXT    NOT NULL,
    cursor_cod      INTEGER NOT NULL,
    items           INTEGER NOT NULL,
    acknowledged_at TEXT    NOT NULL,
    acknowledged_local TEXT NOT NULL,
    run_id          INTEGER NOT NULL
);

-- At most one row (id = 1): the run that may send. Renewed after every packet; a row whose
-- expires_at has passed belongs to a run that died and may be taken over.
CREATE TABLE sync_lock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    token      TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    since      TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
);

-- sync reads persons and PFA in (data, cod) order from a cursor, a page at a time.
CREATE INDEX taxpayers_by_data ON taxpayers (data, cod);
