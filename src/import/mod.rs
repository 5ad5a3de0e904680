pub mod progress;
pub mod read;
