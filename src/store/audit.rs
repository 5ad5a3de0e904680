//! The GDPR audit log of SOAP requests (filled in by the next commit).
