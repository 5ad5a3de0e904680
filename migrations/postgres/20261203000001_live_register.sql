-- The live SQL register (issue 11): the outbox of payment items to be written into the
-- tax system's database by `register_payment_statement`. A row is added in the payment's
-- own transaction (only when the outbox is configured) and marked delivered once the tax
-- system's database has committed the statement; until then it is retried.
CREATE TABLE live_outbox (
    item_id      BIGINT PRIMARY KEY REFERENCES payment_items (id),
    payment_id   BIGINT  NOT NULL REFERENCES payments (id),
    attempts     BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT,
    -- Romanian time 'YYYY-MM-DD HH:MM:SS' of the delivery; NULL = still to deliver.
    delivered_at TEXT
);
CREATE INDEX live_outbox_by_payment ON live_outbox (payment_id);
CREATE INDEX live_outbox_pending ON live_outbox (delivered_at, item_id);
