//! The files an institution without a tax system of its own sends instead of running
//! Annexes 1 and 2 (SNEP norm, art. 12–14): Annex 3's `contribuabili.csv` for the SNEP
//! operator and Annex 5's `AdminCreante.xml` for ANAF. How the norm's gaps are filled is in
//! docs/annexes.md.
//!
//! Both are written to a temporary file beside the destination, flushed to disk and then
//! renamed over it: the destination holds either the previous file or the whole new one,
//! never half of one, and a register that cannot make a valid file leaves it untouched.

pub mod admin_creante;
pub mod contribuabili;

use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

pub use admin_creante::{admin_creante, Totals, Unit};
pub use contribuabili::contribuabili;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the register: {0}")]
    Store(#[from] crate::store::Error),
    #[error("writing {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// The register cannot make a valid file; the text says what and what to do.
    #[error("{0}")]
    Register(String),
}

impl ExportError {
    fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ExportError {
        let what = what.to_string();
        move |source| ExportError::Io { what, source }
    }
}

/// A file being written: a temporary file until `finish`. Dropped before that, it is
/// deleted and the destination is left as it was.
pub struct Output {
    writer: BufWriter<tempfile::NamedTempFile>,
    /// `None`: standard output.
    dest: Option<PathBuf>,
}

impl Output {
    /// A file to become `dest` (standard output when `None`). The temporary file is made in
    /// `dest`'s folder, so that the final rename stays on one file system. Like every
    /// temporary file it is readable by its owner only, and so is the result: these files
    /// hold CNPs.
    pub fn create(dest: Option<&Path>) -> Result<Output, ExportError> {
        let temp = match dest {
            Some(dest) => {
                if dest.is_dir() {
                    return Err(ExportError::Register(format!(
                        "--out {} is a folder: give a file name, e.g. {}",
                        dest.display(),
                        dest.join("FILE").display()
                    )));
                }
                let dir = match dest.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let name = dest
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .map_err(ExportError::io(format_args!(
                        "a temporary file in {} (does the folder exist, and may this user write there?)",
                        dir.display()
                    )))?
            }
            None => tempfile::NamedTempFile::new()
                .map_err(ExportError::io("a temporary file (check TMPDIR)"))?,
        };
        Ok(Output {
            writer: BufWriter::with_capacity(1 << 20, temp),
            dest: dest.map(Path::to_path_buf),
        })
    }

    /// What is being written, for messages.
    pub fn name(&self) -> String {
        match &self.dest {
            Some(p) => p.display().to_string(),
            None => "standard output".to_string(),
        }
    }

    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.writer
    }

    /// Flushes the file to disk and puts it in place (or copies it to standard output).
    pub fn finish(self) -> Result<(), ExportError> {
        let name = self.name();
        let mut temp = self.writer.into_inner().map_err(|e| ExportError::Io {
            what: name.clone(),
            source: e.into_error(),
        })?;
        match self.dest {
            Some(dest) => {
                temp.as_file().sync_all().map_err(ExportError::io(&name))?;
                temp.persist(&dest).map_err(|e| ExportError::Io {
                    what: name.clone(),
                    source: e.error,
                })?;
                // The rename itself is durable once the folder is.
                let dir = match dest.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            None => {
                let file = temp.as_file_mut();
                file.rewind().map_err(ExportError::io(&name))?;
                let mut stdout = std::io::stdout().lock();
                std::io::copy(file, &mut stdout).map_err(ExportError::io(&name))?;
                stdout.flush().map_err(ExportError::io(&name))?;
                Ok(())
            }
        }
    }
}
