//! The order of getSumeDePlataPePersoana's answer (Annex 1): tax types with a priority
//! (1, 2, …) first, in that order, then those without one (0), ties by code; within a tax
//! type its lines oldest due date first. The query `STATEMENT` of store/statement.rs sorts
//! our own register the same way in SQL (`ORDER BY`); the live register (src/live/) is
//! sorted in Rust by `tax_type_rank`. `tests/live_register.rs` compares both answers.

/// Sorts tax types into statement order: a smaller rank comes first.
pub fn tax_type_rank(prioritate: i64, id_tip_suma: i64) -> (bool, i64, i64) {
    (prioritate <= 0, prioritate, id_tip_suma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prioritised_types_come_first_in_their_order_then_the_others_by_code() {
        let mut types = [(0, 7), (2, 2), (0, 5), (1, 1), (3, 9)];
        types.sort_by_key(|&(p, id)| tax_type_rank(p, id));
        assert_eq!(types, [(1, 1), (2, 2), (3, 9), (0, 5), (0, 7)]);
    }
}
