-- Payments out (issue 13): exports to the tax system with exactly-once consumers, the
-- exceptions a person handles, and the web console's users.

-- The export sequence: every payment item gets a growing `seq` when an export (or the
-- console) first sees it committed. Numbers are handed out under the lock of
-- payout_state's one row, in commit order, so a consumer that took everything up to N
-- can never later meet an item numbered below N (an id from AUTOINCREMENT could: on
-- PostgreSQL and MariaDB a payment may commit after one that started later).
CREATE TABLE payout_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO payout_state (id, last_seq) VALUES (1, 0);

CREATE TABLE payout_sequence (
    seq        INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL UNIQUE REFERENCES payment_items (id),
    stamped_at TEXT    NOT NULL
);

-- A consumer's cursor: the last seq it has taken. While an export's file is being
-- renamed into place, `pending_*` say which seq it ends at and where its temporary file
-- is, so that the next run can tell whether the rename happened.
CREATE TABLE payout_consumers (
    name        TEXT    PRIMARY KEY,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    pending_seq INTEGER,
    pending_tmp TEXT,
    updated_at  TEXT    NOT NULL
);

-- What people did (exports, exceptions handled, console logins): who, when, what.
CREATE TABLE admin_audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,  -- UTC 'YYYY-MM-DD HH:MM:SS'
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX admin_audit_by_time ON admin_audit (at);

-- An exception a person has looked at: kind 'journal' (a payment journaled but not
-- recorded: conflict, unknown tax type or person, invalid) or 'credit', and its row id.
CREATE TABLE exceptions_handled (
    kind       TEXT    NOT NULL,
    ref_id     INTEGER NOT NULL,
    handled_at TEXT    NOT NULL,
    handled_by TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    PRIMARY KEY (kind, ref_id)
);

CREATE TABLE console_users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
