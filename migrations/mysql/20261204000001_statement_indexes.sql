-- The statement indexes of SQLite and PostgreSQL (issue 15) are not needed here: InnoDB
-- keeps a taxpayer's row in its primary key (the CUI), and cannot put the debt's
-- `descriere` (TEXT) into an index. Nothing changes; the number is kept so that the three
-- folders stay in step.
DO 0;
