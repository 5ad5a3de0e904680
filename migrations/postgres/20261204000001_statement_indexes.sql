-- getSumeDePlataPePersoana reads a person's statement from two indexes alone (issue 15,
-- see the SQLite migration of the same number): an index-only scan where the visibility
-- map allows it. `debts_owed` has the key of `debts_by_taxpayer` and replaces it.
CREATE UNIQUE INDEX taxpayers_known ON taxpayers (cui) WHERE sters_la IS NULL;
CREATE INDEX debts_owed ON debts (cui, id_tip_suma, scadenta, id)
    INCLUDE (rest_debit, rest_ramasita, rest_majorari, rest_penalitati, descriere);
DROP INDEX debts_by_taxpayer;
