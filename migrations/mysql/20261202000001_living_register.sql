-- The living register (issue 10): records have a stable identity and a time of last
-- change, so that a re-import updates in place instead of adding, a `--replace` import
-- can remove what the tax system no longer holds, and Annex 2 can send ghiseul.ro only
-- what changed. The same columns as postgres/ and sqlite/.
--
-- `data` columns are Romanian local time 'YYYY-MM-DD HH:MM:SS' (Annex 2's `data`), kept
-- monotonic by the import: a new stamp is never earlier than the newest one of its table.
-- Rows that existed before this migration get '2000-01-01 00:00:00': nothing was ever sent
-- to ghiseul.ro before `sync` existed, so its first run sends them all anyway.

-- Tax types: Annex 2's fields, and the Annex 5 codes. A tax type is never deleted; a
-- `--replace` import that no longer lists it marks it `inactiv`.
-- debit: 1 = with a debt (shown with Annex 1's amounts), 0 = amount typed by the payer,
-- 2 = fine. val_initiala: for debit = 0, the amount proposed to the payer, in bani.
-- platitor: 0 = natural and legal persons, 1 = natural persons, 2 = legal persons.
-- cod_cls_bug, cod_db: Annex 5's budget classification code and internal code.
ALTER TABLE tax_types
    ADD COLUMN data         VARCHAR(19) NOT NULL DEFAULT '2000-01-01 00:00:00',
    ADD COLUMN id_nom_unic  VARCHAR(64) NULL,
    ADD COLUMN debit        BIGINT      NOT NULL DEFAULT 1 CHECK (debit IN (0, 1, 2)),
    ADD COLUMN val_initiala BIGINT      NULL CHECK (val_initiala >= 0),
    ADD COLUMN inactiv      BIGINT      NOT NULL DEFAULT 0 CHECK (inactiv IN (0, 1)),
    ADD COLUMN platitor     BIGINT      NOT NULL DEFAULT 0 CHECK (platitor IN (0, 1, 2)),
    ADD COLUMN cod_cls_bug  VARCHAR(64) NULL,
    ADD COLUMN cod_db       VARCHAR(64) NULL;

-- Taxpayers: `cod` is our stable id (Annex 2's `cod`, never reused); a person removed by a
-- `--replace` import keeps its row (its payments refer to it) with `sters_la` set, and is
-- then unknown to Annex 1.
ALTER TABLE taxpayers
    ADD COLUMN cod      BIGINT      NOT NULL DEFAULT 0,
    ADD COLUMN data     VARCHAR(19) NOT NULL DEFAULT '2000-01-01 00:00:00',
    ADD COLUMN sters_la VARCHAR(19) NULL;
UPDATE taxpayers t
    JOIN (SELECT cui, ROW_NUMBER() OVER (ORDER BY cui) AS rn FROM taxpayers) n ON n.cui = t.cui
    SET t.cod = n.rn;
CREATE UNIQUE INDEX taxpayers_by_cod ON taxpayers (cod);

-- Debts: `cheie` is the debt's identity within its taxpayer: 'id:' and the tax system's
-- debt id (`id_debit`) when the file gives one, else 'nat:' and the natural key
-- `id_tip_suma|scadenta|descriere`. Rows already doubled by earlier imports keep the
-- first one's key and get '#<id>' after theirs, so the index can be built; a `--replace`
-- import then removes them. 600 characters keep the index within InnoDB's 3072 bytes.
ALTER TABLE debts
    ADD COLUMN id_debit VARCHAR(255) NULL,
    ADD COLUMN cheie    VARCHAR(600) NOT NULL DEFAULT '';
UPDATE debts d
    JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY cui, id_tip_suma, scadenta, descriere ORDER BY id) AS n
          FROM debts) r ON r.id = d.id
    SET d.cheie = CONCAT('nat:', d.id_tip_suma, '|', d.scadenta, '|', d.descriere,
                         IF(r.n > 1, CONCAT('#', d.id), ''));
CREATE UNIQUE INDEX debts_by_key ON debts (cui, cheie);

-- A payment is `booked` once the tax system has it in its own ledger (import
-- `--booked-until`): from then on the balances it exports already count it, and an import
-- stops subtracting it.
ALTER TABLE payments ADD COLUMN booked_at VARCHAR(19) NULL;

-- Annex 2's queue of deletions: one row per person or PFA removed from the register, with
-- a growing `cod`.
CREATE TABLE deletions (
    cod        BIGINT      NOT NULL PRIMARY KEY,
    cod_obiect BIGINT      NOT NULL,               -- the taxpayer's cod
    fizjur     BIGINT      NOT NULL CHECK (fizjur IN (1, 2)), -- 1 person (CNP/NIF), 2 PFA (CIF)
    cui        VARCHAR(32) NOT NULL,
    data       VARCHAR(19) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
