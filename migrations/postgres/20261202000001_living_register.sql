-- The living register (issue 10): records have a stable identity and a time of last
-- change, so that a re-import updates in place instead of adding, a `--replace` import
-- can remove what the tax system no longer holds, and Annex 2 can send ghiseul.ro only
-- what changed.
--
-- `data` columns are Romanian local time 'YYYY-MM-DD HH:MM:SS' (Annex 2's `data`), kept
-- monotonic by the import: a new stamp is never earlier than the newest one of its table.
-- Rows that existed before this migration get '2000-01-01 00:00:00': nothing was ever sent
-- to ghiseul.ro before `sync` existed, so its first run sends them all anyway.

-- Tax types: Annex 2's fields, and the Annex 5 codes. A tax type is never deleted; a
-- `--replace` import that no longer lists it marks it `inactiv`.
ALTER TABLE tax_types ADD COLUMN data TEXT NOT NULL DEFAULT '2000-01-01 00:00:00';
ALTER TABLE tax_types ADD COLUMN id_nom_unic TEXT;
-- 1 = with a debt (shown with Annex 1's amounts), 0 = amount typed by the payer, 2 = fine.
ALTER TABLE tax_types ADD COLUMN debit BIGINT NOT NULL DEFAULT 1 CHECK (debit IN (0, 1, 2));
-- For debit = 0: the amount proposed to the payer, in bani.
ALTER TABLE tax_types ADD COLUMN val_initiala BIGINT CHECK (val_initiala >= 0);
ALTER TABLE tax_types ADD COLUMN inactiv BIGINT NOT NULL DEFAULT 0 CHECK (inactiv IN (0, 1));
-- 0 = natural and legal persons, 1 = natural persons, 2 = legal persons.
ALTER TABLE tax_types ADD COLUMN platitor BIGINT NOT NULL DEFAULT 0 CHECK (platitor IN (0, 1, 2));
-- Annex 5: budget classification code and the institution's internal code.
ALTER TABLE tax_types ADD COLUMN cod_cls_bug TEXT;
ALTER TABLE tax_types ADD COLUMN cod_db TEXT;

-- Taxpayers: `cod` is our stable id (Annex 2's `cod`, never reused); a person removed by a
-- `--replace` import keeps its row (its payments refer to it) with `sters_la` set, and is
-- then unknown to Annex 1.
ALTER TABLE taxpayers ADD COLUMN cod BIGINT NOT NULL DEFAULT 0;
ALTER TABLE taxpayers ADD COLUMN data TEXT NOT NULL DEFAULT '2000-01-01 00:00:00';
ALTER TABLE taxpayers ADD COLUMN sters_la TEXT;
UPDATE taxpayers t SET cod = n.rn FROM (SELECT cui, row_number() OVER (ORDER BY cui) AS rn FROM taxpayers) n WHERE n.cui = t.cui;
CREATE UNIQUE INDEX taxpayers_by_cod ON taxpayers (cod);

-- Debts: `cheie` is the debt's identity within its taxpayer: 'id:' and the tax system's
-- debt id (`id_debit`) when the file gives one, else 'nat:' and the natural key
-- `id_tip_suma|scadenta|descriere`. Rows already doubled by earlier imports keep the
-- first one's key and get '#<id>' after theirs, so the index can be built; a `--replace`
-- import then removes them.
ALTER TABLE debts ADD COLUMN id_debit TEXT;
ALTER TABLE debts ADD COLUMN cheie TEXT NOT NULL DEFAULT '';
UPDATE debts SET cheie = 'nat:' || id_tip_suma || '|' || scadenta || '|' || descriere ||
    CASE WHEN EXISTS (
        SELECT 1 FROM debts o
        WHERE o.cui = debts.cui AND o.id_tip_suma = debts.id_tip_suma
          AND o.scadenta = debts.scadenta AND o.descriere = debts.descriere AND o.id < debts.id
    ) THEN '#' || id ELSE '' END;
CREATE UNIQUE INDEX debts_by_key ON debts (cui, cheie);

-- A payment is `booked` once the tax system has it in its own ledger (import
-- `--booked-until`): from then on the balances it exports already count it, and an import
-- stops subtracting it.
ALTER TABLE payments ADD COLUMN booked_at TEXT;

-- Annex 2's queue of deletions: one row per person or PFA removed from the register, with
-- a growing `cod`.
CREATE TABLE deletions (
    cod        BIGINT PRIMARY KEY,
    cod_obiect BIGINT NOT NULL,              -- the taxpayer's cod
    fizjur     BIGINT NOT NULL CHECK (fizjur IN (1, 2)), -- 1 person (CNP/NIF), 2 PFA (CIF)
    cui        TEXT    NOT NULL,
    data       TEXT    NOT NULL
);
