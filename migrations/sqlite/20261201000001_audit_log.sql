-- One row per SOAP request (GDPR audit): when, which operation, whose CUI (masked: a CNP
-- keeps only its last 3 digits), from where, how it ended and how long it took. Never a
-- full CNP, never a message body. Rows older than audit_retention_days are deleted.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,  -- UTC, 'YYYY-MM-DD HH:MM:SS.mmm'
    operation   TEXT    NOT NULL,  -- getSumeDePlataPePersoana, inregistrareIncasari or '-' (not known)
    cui         TEXT    NOT NULL,  -- masked; '' when the request carried none
    source      TEXT    NOT NULL,  -- the client's address (behind a trusted proxy: X-Forwarded-For)
    outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'fault', 'refused')),
    fault_code  INTEGER,           -- 1, 2 or 3 when a SOAP fault was answered
    duration_ms INTEGER NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
