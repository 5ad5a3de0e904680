//! How the register is kept current from the tax system's files: what identifies a record,
//! what counts as a change, what a `--replace` import removes, and what is still owed on a
//! debt the tax system re-sends after we recorded payments on it.
//!
//! The rules, in one place for every database:
//! - A tax type is its `id_tip_suma`, a taxpayer its CUI, a debt its taxpayer and `cheie`
//!   (the tax system's `id_debit`, else tax type + due date + description). A record of the
//!   file whose key is known updates that record; an unknown key adds one; nothing is ever
//!   doubled. A key twice in one file is an error.
//! - A record whose content did not change is not written, and keeps its `data`. Added and
//!   changed records get one `data` stamp per import, never earlier than the newest stamp
//!   of their table (Annex 2 sends what has `data` at or after ghiseul.ro's mark).
//! - `--replace`: the file is the whole register of its kind. A tax type absent from it is
//!   marked inactive (never deleted). A taxpayer absent from it is marked removed (its row
//!   stays: its payments refer to it), queued for deletion at ghiseul.ro, and its debts go
//!   as below. A debt absent from it is deleted, or, when payments were recorded on it,
//!   kept with nothing left owed so that its allocations stay whole.
//! - What is still owed on a debt = what the file says, less what we recorded on it that
//!   the tax system has not booked yet (`payments.booked_at`), never below zero: until the
//!   tax system books our payment its balance does not count it; once booked, its balance
//!   is the truth.

/// The maps of an import hold millions of keys that come from the institution's own files:
/// a fast hash (FxHash) rather than the default's protection against crafted keys.
pub type Map<K, V> = rustc_hash::FxHashMap<K, V>;
pub type Set<K> = rustc_hash::FxHashSet<K>;

/// A tax type as the file gives it (Annex 1 and Annex 2 fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxType {
    pub id: i64,
    pub nume: String,
    pub prioritate: i64,
    /// Empty, or a valid Romanian IBAN in its normal form.
    pub iban: String,
    pub detalii_header: Option<String>,
    pub id_nom_unic: Option<String>,
    pub debit: i64,
    /// Bani.
    pub val_initiala: Option<i64>,
    pub inactiv: bool,
    pub platitor: i64,
    pub cod_cls_bug: Option<String>,
    pub cod_db: Option<String>,
}

/// A taxpayer as the file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// The stored form: 13 digits of a CNP/NIF, or the digits of a CIF without `RO`.
    pub cui: String,
    pub nume: String,
    pub adresa: String,
}

/// A debt as the file gives it.
///
/// Its five texts are kept one after the other in a single allocation: a first load holds
/// millions of debts in memory at once, and five `String`s a debt were about 110 bytes of
/// allocations and four more allocations (then frees) per row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debt {
    /// cui, cheie, id_debit (empty when absent), descriere, scadenta.
    text: Box<str>,
    /// Where cui, cheie, id_debit and descriere end in `text`.
    ends: [u32; 4],
    has_id_debit: bool,
    pub id_tip_suma: i64,
    /// debit, ramasita, majorari, penalitati in bani: what the tax system says is owed.
    pub amounts: [i64; 4],
}

impl Debt {
    /// `cheie` is the debt's identity within its taxpayer (see `debt_key`).
    pub fn new(
        cui: &str,
        cheie: &str,
        id_debit: Option<&str>,
        id_tip_suma: i64,
        descriere: &str,
        amounts: [i64; 4],
        scadenta: &str,
    ) -> Debt {
        let parts = [cui, cheie, id_debit.unwrap_or(""), descriere, scadenta];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 4];
        for (i, part) in parts.iter().enumerate() {
            text.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                // A row's texts come from one line of a file read into memory; 4 GiB of
                // them is not a line this program can hold.
                *end = u32::try_from(text.len()).expect("a debt's texts are under 4 GiB");
            }
        }
        Debt {
            text: text.into_boxed_str(),
            ends,
            has_id_debit: id_debit.is_some(),
            id_tip_suma,
            amounts,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends.get(i).map_or(self.text.len(), |&e| e as usize);
        &self.text[start..end]
    }

    /// The stored form: 13 digits of a CNP/NIF, or the digits of a CIF without `RO`.
    pub fn cui(&self) -> &str {
        self.part(0)
    }

    /// The debt's identity within its taxpayer (see `debt_key`).
    pub fn cheie(&self) -> &str {
        self.part(1)
    }

    pub fn id_debit(&self) -> Option<&str> {
        self.has_id_debit.then(|| self.part(2))
    }

    pub fn descriere(&self) -> &str {
        self.part(3)
    }

    pub fn scadenta(&self) -> &str {
        self.part(4)
    }
}

/// The identity of a debt within its taxpayer: the tax system's own id when the file has
/// one, else the natural key (tax type, due date, description). Two debts of one person
/// with the same natural key cannot be told apart, so a file holding both is refused.
pub fn debt_key(
    id_debit: Option<&str>,
    id_tip_suma: i64,
    scadenta: &str,
    descriere: &str,
) -> String {
    match id_debit {
        Some(id) => format!("id:{id}"),
        None => format!("nat:{id_tip_suma}|{scadenta}|{descriere}"),
    }
}

/// What is still owed on a debt the tax system reports as `amounts`, when `unbooked` was
/// recorded on it here and not yet booked there.
pub fn rest(amounts: [i64; 4], unbooked: [i64; 4]) -> [i64; 4] {
    std::array::from_fn(|i| (amounts[i] - unbooked[i]).max(0))
}

/// A tax type as stored.
#[derive(Clone, Debug)]
pub struct StoredTaxType {
    pub row: TaxType,
}

/// A taxpayer as stored.
#[derive(Clone, Debug)]
pub struct StoredPerson {
    pub cod: i64,
    pub row: Person,
    pub removed: bool,
}

/// A debt as stored.
#[derive(Clone, Debug)]
pub struct StoredDebt {
    pub id: i64,
    pub row: Debt,
    pub rest: [i64; 4],
    /// What payments recorded here and not yet booked by the tax system put on it, per
    /// component; `None` when no payment was ever recorded on it.
    pub unbooked: Option<[i64; 4]>,
}

/// Added, changed, unchanged and removed records of one import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub removed: u64,
}

/// A row of the file refused by a rule that needs the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct TaxTypePlan {
    /// Stored types whose priority changes or that are deactivated: their priority is
    /// cleared first, so that two types can swap priorities within one import.
    pub clear_priority: Vec<i64>,
    pub insert: Vec<TaxType>,
    pub update: Vec<TaxType>,
    /// Absent from a `--replace` file: marked inactive, priority 0.
    pub deactivate: Vec<i64>,
    pub counts: Counts,
}

#[derive(Debug, Default)]
pub struct PersonPlan {
    /// With their new `cod`.
    pub insert: Vec<(i64, Person)>,
    /// Changed, or back in the register after a removal.
    pub update: Vec<Person>,
    /// Removed: cod and CUI; each also becomes a deletion.
    pub remove: Vec<(i64, String)>,
    pub counts: Counts,
}

#[derive(Debug, Default)]
pub struct DebtPlan {
    pub insert: Vec<Debt>,
    /// Stored id, the new content and what is still owed.
    pub update: Vec<(i64, Debt, [i64; 4])>,
    /// Never paid here: deleted.
    pub delete: Vec<i64>,
    /// Paid here: kept with nothing left owed.
    pub close: Vec<i64>,
    pub counts: Counts,
}

/// The stamp of this import's changes: now, or the newest stamp already stored if the
/// clock is behind it, so that `data` never goes back.
pub fn stamp(now: &str, newest: Option<&str>) -> String {
    match newest {
        Some(n) if n > now => n.to_string(),
        _ => now.to_string(),
    }
}

/// Duplicated keys of a file: each later line is refused, naming the first.
pub fn duplicates<K: std::hash::Hash + Eq + std::fmt::Display>(
    keys: impl Iterator<Item = (u64, K)>,
    what: &str,
) -> Vec<Refusal> {
    let mut first: Map<K, u64> = Map::default();
    let mut refused = Vec::new();
    for (line, key) in keys {
        match first.get(&key) {
            Some(&at) => refused.push(Refusal {
                line,
                reason: format!("{what} {key} is already on line {at}; each may appear once"),
            }),
            None => {
                first.insert(key, line);
            }
        }
    }
    refused
}

pub fn plan_tax_types(
    file: Vec<(u64, TaxType)>,
    stored: Vec<StoredTaxType>,
    replace: bool,
) -> Result<TaxTypePlan, Vec<Refusal>> {
    let mut refused = duplicates(file.iter().map(|(l, t)| (*l, t.id)), "id_tip_suma");
    let mut stored: Map<i64, TaxType> = stored.into_iter().map(|s| (s.row.id, s.row)).collect();
    let mut plan = TaxTypePlan::default();
    let in_file: Set<i64> = file.iter().map(|(_, t)| t.id).collect();
    // The priorities once the import is done: the file's, and those of stored types it
    // leaves alone.
    let mut holder: Map<i64, (i64, Option<u64>)> = Map::default();
    for t in stored.values() {
        if !in_file.contains(&t.id) && !replace && t.prioritate > 0 {
            holder.insert(t.prioritate, (t.id, None));
        }
    }
    for (line, t) in &file {
        if t.prioritate == 0 {
            continue;
        }
        match holder.get(&t.prioritate) {
            Some((other, Some(at))) if *other != t.id => refused.push(Refusal {
                line: *line,
                reason: format!(
                    "prioritate {} is also given to tax type {other} on line {at}",
                    t.prioritate
                ),
            }),
            Some((other, None)) => refused.push(Refusal {
                line: *line,
                reason: format!(
                    "prioritate {} belongs to tax type {other}, which this file does not change (give it another priority in the file, or import with --replace)",
                    t.prioritate
                ),
            }),
            _ => {
                holder.insert(t.prioritate, (t.id, Some(*line)));
            }
        }
    }
    if !refused.is_empty() {
        refused.sort_by_key(|r| r.line);
        return Err(refused);
    }
    for (_, t) in file {
        match stored.remove(&t.id) {
            None => {
                plan.insert.push(t);
                plan.counts.added += 1;
            }
            Some(old) if old == t => plan.counts.unchanged += 1,
            Some(old) => {
                if old.prioritate != t.prioritate && old.prioritate > 0 {
                    plan.clear_priority.push(t.id);
                }
                plan.update.push(t);
                plan.counts.changed += 1;
            }
        }
    }
    if replace {
        let mut gone: Vec<&TaxType> = stored.values().filter(|t| !t.inactiv).collect();
        gone.sort_by_key(|t| t.id);
        for t in gone {
            if t.prioritate > 0 {
                plan.clear_priority.push(t.id);
            }
            plan.deactivate.push(t.id);
            plan.counts.removed += 1;
        }
        plan.counts.unchanged += stored.values().filter(|t| t.inactiv).count() as u64;
    }
    Ok(plan)
}

/// `next_cod` is the first `cod` never given (greater than every stored one).
///
/// New taxpayers get their `cod` in CUI order, not in the file's: they are then inserted
/// in the order of both the CUI index and the `cod` index, each growing at its end
/// instead of at a random place (a first load of a city's register is a million of them).
pub fn plan_persons(
    file: Vec<(u64, Person)>,
    stored: Vec<StoredPerson>,
    replace: bool,
    next_cod: i64,
) -> Result<PersonPlan, Vec<Refusal>> {
    let refused = duplicates(file.iter().map(|(l, p)| (*l, p.cui.as_str())), "CUI");
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut stored: Map<String, StoredPerson> =
        stored.into_iter().map(|s| (s.row.cui.clone(), s)).collect();
    let mut plan = PersonPlan::default();
    for (_, p) in file {
        match stored.remove(&p.cui) {
            None => {
                plan.insert.push((0, p));
                plan.counts.added += 1;
            }
            Some(old) if !old.removed && old.row == p => plan.counts.unchanged += 1,
            Some(old) => {
                plan.update.push(p);
                if old.removed {
                    plan.counts.added += 1;
                } else {
                    plan.counts.changed += 1;
                }
            }
        }
    }
    plan.insert.sort_unstable_by(|a, b| a.1.cui.cmp(&b.1.cui));
    for (cod, (slot, _)) in (next_cod..).zip(plan.insert.iter_mut()) {
        *slot = cod;
    }
    if replace {
        let mut gone: Vec<(i64, String)> = stored
            .into_values()
            .filter(|s| !s.removed)
            .map(|s| (s.cod, s.row.cui))
            .collect();
        gone.sort();
        plan.counts.removed = gone.len() as u64;
        plan.remove = gone;
    }
    Ok(plan)
}

/// `active` holds the CUIs of the register that are not removed; `stored` is the register's
/// debts in key order (CUI, then `cheie`, compared as bytes).
///
/// File and register are compared as two sequences sorted by key, not through maps: a
/// city's register is millions of debts, and a merge of two sorted lists reads the stored
/// debts one at a time (none of them is held), finds a file's duplicates as neighbours, and
/// hands the new debts over in key order, which is the order the databases' indexes want.
pub fn plan_debts(
    mut file: Vec<(u64, Debt)>,
    stored: impl IntoIterator<Item = StoredDebt>,
    active: &Set<String>,
    replace: bool,
) -> Result<DebtPlan, Vec<Refusal>> {
    let mut refused = Vec::new();
    for (line, d) in &file {
        if !active.contains(d.cui()) {
            refused.push(Refusal {
                line: *line,
                reason: format!(
                    "CUI {} is not in the register (import persons first)",
                    d.cui()
                ),
            });
        }
    }
    // By key, then by line: of a key given twice, the first line comes first.
    sort_by_identity(&mut file);
    // `first`: where the run of the current key starts.
    let mut first = 0;
    for i in 1..file.len() {
        if identity(&file[i].1) == identity(&file[first].1) {
            refused.push(Refusal {
                line: file[i].0,
                reason: format!(
                    "the debt {} is already on line {}; each may appear once",
                    DebtName(&file[i].1),
                    file[first].0
                ),
            });
        } else {
            first = i;
        }
    }
    if !refused.is_empty() {
        refused.sort_by_key(|r| r.line);
        return Err(refused);
    }
    // The debts of removed taxpayers are no longer part of the register (they were closed
    // or deleted with their taxpayer).
    let mut stored = InKeyOrder::new(stored.into_iter().filter(|s| active.contains(s.row.cui())));
    let mut plan = DebtPlan::default();
    // The new debts are collected into the file's own memory (Rust reuses a vector
    // consumed in order for what is collected from it): a first load of millions of debts
    // does not hold each of them twice.
    plan.insert = file
        .into_iter()
        .filter_map(|(_, d)| {
            // Stored debts before this one's key are absent from the file.
            while stored.next_is(|s| identity(&s.row) < identity(&d)) {
                let old = stored.advance().expect("a next debt");
                if replace {
                    remove_debt(&mut plan.delete, &mut plan.close, &mut plan.counts, old);
                }
            }
            if !stored.next_is(|s| identity(&s.row) == identity(&d)) {
                plan.counts.added += 1;
                return Some(d);
            }
            let old = stored.advance().expect("a next debt");
            let rest = rest(d.amounts, old.unbooked.unwrap_or([0; 4]));
            if old.row == d && old.rest == rest {
                plan.counts.unchanged += 1;
            } else {
                plan.update.push((old.id, d, rest));
                plan.counts.changed += 1;
            }
            None
        })
        .collect();
    if replace {
        while let Some(old) = stored.advance() {
            remove_debt(&mut plan.delete, &mut plan.close, &mut plan.counts, old);
        }
        plan.delete.sort_unstable();
        plan.close.sort_unstable();
    }
    Ok(plan)
}

/// Sorts the file's debts by identity, then by line.
///
/// A row is about 170 bytes and a first load has millions: moving them around a sort
/// costs more than comparing them. So small keys are sorted instead (the CUI packed into
/// an integer that orders as its text does, and the row's place), and the rows are then
/// moved once each into their places.
fn sort_by_identity(file: &mut [(u64, Debt)]) {
    let Some(mut keys) = file
        .iter()
        .enumerate()
        .map(|(i, (_, d))| Some((packed_cui(d.cui())?, i)))
        .collect::<Option<Vec<(u64, usize)>>>()
    else {
        // A CUI that does not pack (not digits): the plain sort.
        file.sort_unstable_by(|(la, a), (lb, b)| (identity(a), la).cmp(&(identity(b), lb)));
        return;
    };
    keys.sort_unstable_by(|&(ka, a), &(kb, b)| {
        let (la, da) = &file[a];
        let (lb, db) = &file[b];
        (ka, da.cheie(), la).cmp(&(kb, db.cheie(), lb))
    });
    // `order[k]`: the row that belongs at place k. Each cycle of the permutation is
    // followed once; a place done is marked as its own.
    let mut order: Vec<usize> = keys.into_iter().map(|(_, i)| i).collect();
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start {
            let from = order[at];
            file.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

/// A CUI of at most 13 ASCII digits as an integer that orders as the text does (byte
/// order): each digit one more than its value, in base 11, the end of the text 0.
fn packed_cui(cui: &str) -> Option<u64> {
    if cui.len() > 13 || !cui.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut bytes = cui.bytes();
    Some((0..13).fold(0u64, |n, _| {
        n * 11 + bytes.next().map_or(0, |b| u64::from(b - b'0') + 1)
    }))
}

/// A stored debt absent from a `--replace` file: deleted when it was never paid here, else
/// kept with nothing left owed.
fn remove_debt(delete: &mut Vec<i64>, close: &mut Vec<i64>, counts: &mut Counts, s: StoredDebt) {
    match s.unbooked {
        None => delete.push(s.id),
        Some(_) if s.rest == [0; 4] => {
            // Already closed by an earlier import, or fully paid: nothing to do.
            counts.unchanged += 1;
            return;
        }
        Some(_) => close.push(s.id),
    }
    counts.removed += 1;
}

/// The stored debts, one ahead, each checked to come after the one before: a merge of an
/// unsorted list would take debts that are in the file for absent ones.
struct InKeyOrder<I: Iterator<Item = StoredDebt>> {
    rows: I,
    next: Option<StoredDebt>,
}

impl<I: Iterator<Item = StoredDebt>> InKeyOrder<I> {
    fn new(mut rows: I) -> Self {
        let next = rows.next();
        InKeyOrder { rows, next }
    }

    fn next_is(&self, f: impl FnOnce(&StoredDebt) -> bool) -> bool {
        self.next.as_ref().is_some_and(f)
    }

    fn advance(&mut self) -> Option<StoredDebt> {
        let out = std::mem::replace(&mut self.next, self.rows.next());
        if let (Some(a), Some(b)) = (&out, &self.next) {
            assert!(
                identity(&a.row) < identity(&b.row),
                "the register's debts must be read in key order"
            );
        }
        out
    }
}

/// A debt's identity in the register, in the order both sides of `plan_debts` are sorted.
pub fn identity(d: &Debt) -> (&str, &str) {
    (d.cui(), d.cheie())
}

/// A debt named in a message: its taxpayer and identity.
struct DebtName<'a>(&'a Debt);

impl std::fmt::Display for DebtName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        match d.id_debit() {
            Some(id) => write!(f, "of CUI {} with id_debit {id}", d.cui()),
            None => write!(
                f,
                "of CUI {} (id_tip_suma {}, scadenta {}, descriere `{}`)",
                d.cui(),
                d.id_tip_suma,
                d.scadenta(),
                d.descriere()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debt(cui: &str, desc: &str, debit: i64) -> Debt {
        Debt::new(
            cui,
            &debt_key(None, 1, "2025-03-31", desc),
            None,
            1,
            desc,
            [debit, 0, 0, 0],
            "2025-03-31",
        )
    }

    fn stored(id: i64, d: Debt, rest: [i64; 4], unbooked: Option<[i64; 4]>) -> StoredDebt {
        StoredDebt {
            id,
            row: d,
            rest,
            unbooked,
        }
    }

    fn active() -> Set<String> {
        Set::from_iter(["1800101221111".to_string()])
    }

    #[test]
    fn a_debt_with_an_id_is_keyed_by_it_and_one_without_by_its_natural_key() {
        assert_eq!(debt_key(Some("D-17"), 1, "2025-03-31", "Casă"), "id:D-17");
        assert_eq!(
            debt_key(None, 1, "2025-03-31", "Casă"),
            "nat:1|2025-03-31|Casă"
        );
    }

    #[test]
    fn the_files_debts_are_sorted_by_identity_as_bytes_then_by_line() {
        // CUIs that are prefixes of one another, of every length, a key given twice
        // (the earlier line first) and lines out of order.
        let cuis = ["13", "123", "12", "1800101221111", "9", "1234567890", "12"];
        let descs = ["b", "a", "b", "a", "c", "a", "b"];
        let file: Vec<(u64, Debt)> = cuis
            .iter()
            .zip(descs)
            .enumerate()
            .map(|(i, (cui, desc))| (100 - i as u64, debt(cui, desc, 1)))
            .collect();
        let mut expected = file.clone();
        expected.sort_by(|(la, a), (lb, b)| (identity(a), la).cmp(&(identity(b), lb)));
        let mut sorted = file.clone();
        sort_by_identity(&mut sorted);
        assert_eq!(sorted, expected);
        // A CUI that does not pack into an integer takes the plain sort.
        let mut odd = file;
        odd.push((1, debt("RO12", "a", 1)));
        let mut expected = odd.clone();
        expected.sort_by(|(la, a), (lb, b)| (identity(a), la).cmp(&(identity(b), lb)));
        sort_by_identity(&mut odd);
        assert_eq!(odd, expected);
    }

    #[test]
    fn re_importing_the_same_debts_changes_nothing() {
        let d = debt("1800101221111", "Casă", 10000);
        let plan = plan_debts(
            vec![(2, d.clone())],
            vec![stored(7, d, [10000, 0, 0, 0], None)],
            &active(),
            false,
        )
        .unwrap();
        assert_eq!(
            plan.counts,
            Counts {
                unchanged: 1,
                ..Counts::default()
            }
        );
        assert!(plan.insert.is_empty() && plan.update.is_empty());
    }

    #[test]
    fn a_payment_not_yet_booked_is_still_subtracted_from_the_tax_systems_balance() {
        // 95.56 paid here on a 100.00 debt; the tax system re-sends 100.00 (not booked).
        let d = debt("1800101221111", "Casă", 10000);
        let plan = plan_debts(
            vec![(2, d.clone())],
            vec![stored(7, d, [444, 0, 0, 0], Some([9556, 0, 0, 0]))],
            &active(),
            false,
        )
        .unwrap();
        assert_eq!(plan.counts.unchanged, 1, "{plan:?}");
    }

    #[test]
    fn once_booked_the_tax_systems_balance_is_the_truth() {
        let old = debt("1800101221111", "Casă", 10000);
        let new = debt("1800101221111", "Casă", 444);
        let plan = plan_debts(
            vec![(2, new)],
            vec![stored(7, old, [444, 0, 0, 0], Some([0; 4]))],
            &active(),
            false,
        )
        .unwrap();
        assert_eq!(plan.update[0].2, [444, 0, 0, 0]);
        assert_eq!(plan.counts.changed, 1);
    }

    #[test]
    fn what_is_owed_never_goes_below_zero() {
        assert_eq!(rest([100, 50, 0, 0], [150, 0, 10, 0]), [0, 50, 0, 0]);
    }

    #[test]
    fn the_same_debt_twice_in_a_file_is_refused() {
        let d = debt("1800101221111", "Casă", 10000);
        let mut other_amount = d.clone();
        other_amount.amounts[0] = 5;
        let err =
            plan_debts(vec![(2, d), (5, other_amount)], vec![], &active(), false).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 5);
        assert!(err[0].reason.contains("line 2"), "{}", err[0].reason);
    }

    #[test]
    fn replace_deletes_unpaid_debts_and_closes_paid_ones() {
        let a = debt("1800101221111", "A", 100);
        let b = debt("1800101221111", "B", 100);
        let c = debt("1800101221111", "C", 100);
        let plan = plan_debts(
            vec![(2, a.clone())],
            vec![
                stored(1, a, [100, 0, 0, 0], None),
                stored(2, b, [100, 0, 0, 0], None),
                stored(3, c, [40, 0, 0, 0], Some([60, 0, 0, 0])),
            ],
            &active(),
            true,
        )
        .unwrap();
        assert_eq!(plan.delete, vec![2]);
        assert_eq!(plan.close, vec![3]);
        assert_eq!(plan.counts.removed, 2);
    }

    #[test]
    fn a_debt_of_an_unknown_person_is_refused() {
        let d = debt("2820704120023", "Casă", 1);
        let err = plan_debts(vec![(3, d)], vec![], &active(), false).unwrap_err();
        assert!(err[0].reason.contains("not in the register"));
    }

    #[test]
    fn persons_get_growing_codes_and_replace_removes_the_absent() {
        let p = |cui: &str| Person {
            cui: cui.into(),
            nume: "N".into(),
            adresa: String::new(),
        };
        let plan = plan_persons(
            vec![(2, p("1800101221111")), (3, p("31245671"))],
            vec![StoredPerson {
                cod: 4,
                row: p("2820704120023"),
                removed: false,
            }],
            true,
            5,
        )
        .unwrap();
        assert_eq!(plan.insert[0].0, 5);
        assert_eq!(plan.insert[1].0, 6);
        assert_eq!(plan.remove, vec![(4, "2820704120023".to_string())]);
    }

    #[test]
    fn the_same_cui_twice_in_a_file_is_refused() {
        let p = Person {
            cui: "1800101221111".into(),
            nume: "N".into(),
            adresa: String::new(),
        };
        assert!(plan_persons(vec![(2, p.clone()), (3, p)], vec![], false, 1).is_err());
    }

    #[test]
    fn two_tax_types_may_swap_priorities() {
        let t = |id: i64, prioritate: i64| TaxType {
            id,
            nume: "T".into(),
            prioritate,
            iban: String::new(),
            detalii_header: None,
            id_nom_unic: None,
            debit: 1,
            val_initiala: None,
            inactiv: false,
            platitor: 0,
            cod_cls_bug: None,
            cod_db: None,
        };
        let plan = plan_tax_types(
            vec![(2, t(1, 2)), (3, t(2, 1))],
            vec![
                StoredTaxType { row: t(1, 1) },
                StoredTaxType { row: t(2, 2) },
            ],
            false,
        )
        .unwrap();
        assert_eq!(plan.clear_priority, vec![1, 2]);
        assert!(plan_tax_types(
            vec![(2, t(3, 1))],
            vec![StoredTaxType { row: t(1, 1) }],
            false
        )
        .is_err());
        let replaced = plan_tax_types(
            vec![(2, t(3, 1))],
            vec![StoredTaxType { row: t(1, 1) }],
            true,
        )
        .unwrap();
        assert_eq!(replaced.deactivate, vec![1]);
    }

    #[test]
    fn a_stamp_never_goes_back() {
        assert_eq!(
            stamp("2026-10-25 03:30:00", Some("2026-10-25 03:45:00")),
            "2026-10-25 03:45:00"
        );
        assert_eq!(stamp("2026-12-01 10:00:00", None), "2026-12-01 10:00:00");
    }
}
