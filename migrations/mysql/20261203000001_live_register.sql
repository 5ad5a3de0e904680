-- The live SQL register (issue 11): the outbox of payment items to be written into the
-- tax system's database by `register_payment_statement`. A row is added in the payment's
-- own transaction (only when the outbox is configured) and marked delivered once the tax
-- system's database has committed the statement; until then it is retried.
CREATE TABLE live_outbox (
    item_id      BIGINT      NOT NULL PRIMARY KEY,
    payment_id   BIGINT      NOT NULL,
    attempts     BIGINT      NOT NULL DEFAULT 0,
    last_error   TEXT,
    -- Romanian time 'YYYY-MM-DD HH:MM:SS' of the delivery; NULL = still to deliver.
    delivered_at VARCHAR(19),
    CONSTRAINT live_outbox_item FOREIGN KEY (item_id) REFERENCES payment_items (id),
    CONSTRAINT live_outbox_payment FOREIGN KEY (payment_id) REFERENCES payments (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX live_outbox_pending ON live_outbox (delivered_at, item_id);
