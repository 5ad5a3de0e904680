//! SOAP and XML: reading request envelopes, writing responses and faults, the WSDL.
//! Nothing here knows about debts or databases.

pub mod annex4;
pub mod envelope;
pub mod read;
pub mod write;
pub mod wsdl;

pub use envelope::{Element, Envelope, EnvelopeError, Limits, SoapVersion};
