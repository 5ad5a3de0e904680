//! How a paid amount is spread over a person's debts of one tax type: Law 207/2015
//! (Codul de procedură fiscală) art. 165 (1)(a) — principal obligations oldest first, then
//! accessory ones oldest first. What is left over is the person's credit, never dropped.

use crate::rules::money::Bani;

/// The four components of a debt row, in the columns of the norm's example header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    Debit,
    Ramasita,
    Majorari,
    Penalitati,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Debit => "debit",
            Component::Ramasita => "ramasita",
            Component::Majorari => "majorari",
            Component::Penalitati => "penalitati",
        }
    }
}

/// What is still owed on one debt row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outstanding {
    pub debt_id: i64,
    pub debit: Bani,
    pub ramasita: Bani,
    pub majorari: Bani,
    pub penalitati: Bani,
}

impl Outstanding {
    pub fn get(&self, c: Component) -> Bani {
        match c {
            Component::Debit => self.debit,
            Component::Ramasita => self.ramasita,
            Component::Majorari => self.majorari,
            Component::Penalitati => self.penalitati,
        }
    }

    pub fn total(&self) -> Bani {
        self.debit + self.ramasita + self.majorari + self.penalitati
    }
}

/// One leu-to-debt assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub debt_id: i64,
    pub component: Component,
    pub amount: Bani,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    pub lines: Vec<Line>,
    pub credit: Bani,
}

impl Allocation {
    /// What each debt row is lowered by, per component (debit, rămășiță, majorări,
    /// penalități), debts in the order of their first line: one write per row instead of
    /// one per line.
    pub fn per_debt(&self) -> Vec<(i64, [Bani; 4])> {
        let mut out: Vec<(i64, [Bani; 4])> = Vec::new();
        for line in &self.lines {
            let i = match out.iter().position(|(id, _)| *id == line.debt_id) {
                Some(i) => i,
                None => {
                    out.push((line.debt_id, [Bani(0); 4]));
                    out.len() - 1
                }
            };
            let slot = match line.component {
                Component::Debit => 0,
                Component::Ramasita => 1,
                Component::Majorari => 2,
                Component::Penalitati => 3,
            };
            out[i].1[slot] = out[i].1[slot] + line.amount;
        }
        out
    }
}

/// Spreads `amount` over `debts`, which must be ordered oldest first (due date, then row).
///
/// Rămășița (arrears carried over from earlier years) is older than any current-year debit,
/// so the principal is paid as: every row's rămășiță, then every row's debit; then the
/// accessories, row by row: majorări before penalități.
pub fn allocate(amount: Bani, debts: &[Outstanding]) -> Allocation {
    let mut left = amount;
    let mut lines = Vec::new();
    let passes: [&[Component]; 3] = [
        &[Component::Ramasita],
        &[Component::Debit],
        &[Component::Majorari, Component::Penalitati],
    ];
    for pass in passes {
        for debt in debts {
            for &component in pass {
                if !left.is_positive() {
                    break;
                }
                let owed = debt.get(component);
                if !owed.is_positive() {
                    continue;
                }
                let paid = owed.min(left);
                left = left - paid;
                lines.push(Line {
                    debt_id: debt.debt_id,
                    component,
                    amount: paid,
                });
            }
        }
    }
    Allocation {
        lines,
        credit: left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debt(id: i64, debit: i64, ramasita: i64, majorari: i64, penalitati: i64) -> Outstanding {
        Outstanding {
            debt_id: id,
            debit: Bani(debit),
            ramasita: Bani(ramasita),
            majorari: Bani(majorari),
            penalitati: Bani(penalitati),
        }
    }

    fn line(debt_id: i64, component: Component, amount: i64) -> Line {
        Line {
            debt_id,
            component,
            amount: Bani(amount),
        }
    }

    #[test]
    fn principal_is_paid_before_accessories() {
        let debts = [debt(1, 1000, 0, 300, 0)];
        let a = allocate(Bani(1000), &debts);
        assert_eq!(a.lines, vec![line(1, Component::Debit, 1000)]);
        assert_eq!(a.credit, Bani(0));
    }

    #[test]
    fn principal_is_paid_oldest_first() {
        let debts = [debt(1, 500, 200, 0, 0), debt(2, 700, 100, 0, 0)];
        let a = allocate(Bani(900), &debts);
        assert_eq!(
            a.lines,
            vec![
                line(1, Component::Ramasita, 200),
                line(2, Component::Ramasita, 100),
                line(1, Component::Debit, 500),
                line(2, Component::Debit, 100),
            ]
        );
    }

    #[test]
    fn accessories_are_paid_oldest_first_after_all_principal() {
        let debts = [debt(1, 100, 0, 30, 20), debt(2, 100, 0, 40, 10)];
        let a = allocate(Bani(260), &debts);
        assert_eq!(
            a.lines,
            vec![
                line(1, Component::Debit, 100),
                line(2, Component::Debit, 100),
                line(1, Component::Majorari, 30),
                line(1, Component::Penalitati, 20),
                line(2, Component::Majorari, 10),
            ]
        );
    }

    #[test]
    fn each_debt_row_is_lowered_once_by_the_sum_of_its_lines() {
        let debts = [debt(1, 500, 200, 30, 0), debt(2, 700, 100, 0, 0)];
        let a = allocate(Bani(1530), &debts);
        assert_eq!(a.lines.len(), 5);
        assert_eq!(
            a.per_debt(),
            vec![
                (1, [Bani(500), Bani(200), Bani(30), Bani(0)]),
                (2, [Bani(700), Bani(100), Bani(0), Bani(0)]),
            ]
        );
    }

    #[test]
    fn overpayment_becomes_credit() {
        let debts = [debt(1, 100, 0, 0, 0)];
        let a = allocate(Bani(250), &debts);
        assert_eq!(a.lines, vec![line(1, Component::Debit, 100)]);
        assert_eq!(a.credit, Bani(150));
    }

    #[test]
    fn payment_without_debts_is_all_credit() {
        let a = allocate(Bani(999), &[]);
        assert!(a.lines.is_empty());
        assert_eq!(a.credit, Bani(999));
    }

    #[test]
    fn every_ban_is_accounted_for() {
        let debts = [debt(1, 123, 45, 67, 89), debt(2, 10, 20, 30, 40)];
        for paid in [1, 100, 255, 424, 1000] {
            let a = allocate(Bani(paid), &debts);
            let allocated: Bani = a.lines.iter().map(|l| l.amount).sum();
            assert_eq!(allocated + a.credit, Bani(paid));
            for l in &a.lines {
                let d = debts.iter().find(|d| d.debt_id == l.debt_id).unwrap();
                assert!(l.amount.is_positive() && l.amount <= d.get(l.component));
            }
        }
    }
}
