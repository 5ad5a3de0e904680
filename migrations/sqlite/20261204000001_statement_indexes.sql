-- getSumeDePlataPePersoana reads a person's statement from two indexes alone (issue 15):
-- before, each statement went from the CUI index to the taxpayer's row (for `sters_la`)
-- and from the debts index to every debt's row (for what is still owed), each a B-tree
-- descent into a part of the file that is rarely in cache. Measured with the sqlite3
-- shell on the 1M benchmark register (200,000 random CUIs, 4 MiB cache): 14 µs a
-- statement before, 7.5 µs with both indexes, 11.5-14 µs with either one alone
-- (docs/performance.md). `debts_owed` starts with the columns of `debts_by_taxpayer`, so
-- it serves every query that index served, and replaces it. `taxpayers_known` is
-- UNIQUE (as the CUI is) so that the planner, which has no statistics here, prefers it to
-- the primary key's index.
CREATE UNIQUE INDEX taxpayers_known ON taxpayers (cui) WHERE sters_la IS NULL;
CREATE INDEX debts_owed ON debts (cui, id_tip_suma, scadenta, id,
    rest_debit, rest_ramasita, rest_majorari, rest_penalitati, descriere);
DROP INDEX debts_by_taxpayer;
