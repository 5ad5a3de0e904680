//! The rules of the norm and of Romanian tax law that do not depend on how a message
//! arrived or where data is kept: the check, identifiers, money, dates and allocation.

pub mod allocation;
pub mod check;
pub mod clock;
pub mod iban;
pub mod ident;
pub mod money;
pub mod order;
pub mod register;
