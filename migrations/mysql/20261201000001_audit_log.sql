-- One row per SOAP request (GDPR audit): when, which operation, whose CUI (masked: a CNP
-- keeps only its last 3 digits), from where, how it ended and how long it took. Never a
-- full CNP, never a message body. Rows older than audit_retention_days are deleted.
CREATE TABLE audit_log (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at          VARCHAR(32) NOT NULL,  -- UTC, 'YYYY-MM-DD HH:MM:SS.mmm'
    operation   VARCHAR(64) NOT NULL,  -- getSumeDePlataPePersoana, inregistrareIncasari or '-' (not known)
    cui         VARCHAR(32) NOT NULL,  -- masked; '' when the request carried none
    source      VARCHAR(64) NOT NULL,  -- the client's address (behind a trusted proxy: X-Forwarded-For)
    outcome     VARCHAR(16) NOT NULL CHECK (outcome IN ('ok', 'fault', 'refused')),
    fault_code  BIGINT,                -- 1, 2 or 3 when a SOAP fault was answered
    duration_ms BIGINT      NOT NULL,
    KEY audit_log_by_time (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
