//! SQLite's fast paths, on the SQLite C library directly (rusqlite) rather than through
//! sqlx's `Any` driver.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement and
//! each row across a channel; on a 2-core machine those hand-offs were most of the cost of
//! an answer (docs/performance.md). Here:
//!
//! - a statement is read on the calling thread, from a small set of read-only connections
//!   with prepared statements kept between requests: in WAL mode a reader never waits for
//!   the writer, and the query takes tens of microseconds;
//! - every write of the service goes to one writer thread that owns the only writing
//!   connection. It takes whatever is queued, runs each unit of work in its own savepoint
//!   of one transaction, commits once (one fsync, `synchronous = FULL`) and only then
//!   answers each of them. Every answered payment is on disk; a payment that fails rolls
//!   back alone; a failed commit fails every payment of the group, none of which is then
//!   recorded (ghiseul.ro retries them). The audit rows are written the same way, so that
//!   they never hold the write lock a payment waits for;
//! - the WAL is copied back into the database file off the commit path (see `write_loop`).
//!
//! Migrations, the audit log's queries and retention, and the tools keep using the sqlx
//! pool; the import has a connection of its own (`register.rs`). A payment's steps on the
//! writer's connection are in `payment.rs`, with the other backends'.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use super::{Error, Result};

/// Units of work the writer takes into one transaction at most. Beyond a few dozen the
/// fsync is already shared widely and a failed commit would fail too many answers.
const GROUP: usize = 64;

/// Work queued for the writer beyond this waits (asynchronously) for room.
const QUEUE: usize = 1024;

/// Read connections kept open between requests. Reads run on the calling thread, so at most
/// as many are busy at once as there are threads calling: tokio's workers.
const IDLE_READERS: usize = 8;

/// Page cache of each connection, in KiB: the inner B-tree pages of a city's register,
/// while the server stays under its memory target (64 MiB). Since audit rows are committed
/// rarely (audit.rs) the caches are no longer emptied 60 times a second and really fill:
/// at 8 MiB the 1M benchmark peaked at 68–69 MiB, at 4 MiB at 47–52 MiB for about 10% more
/// CPU per statement (docs/performance.md, issue 15).
const READER_CACHE_KIB: i64 = 4 * 1024;

/// The SQLite side of a `Store`. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Native {
    readers: Arc<Readers>,
    writer: mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Set by `close`: nothing is read or written after it.
    closed: AtomicBool,
}

/// A unit of work for the writer: runs inside its own savepoint and returns what to do
/// once the group is committed, or an error (its savepoint is then rolled back).
type Job = Box<dyn FnOnce(&mut Connection) -> Result<Reply> + Send>;
/// Delivers a job's result: `Ok` when its group was committed.
type Reply = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;

impl Native {
    /// Opens `path` (which must exist and be migrated before the first query) and starts
    /// the writer thread. `busy` is how long a write waits for another process (an
    /// import) holding the database's write lock.
    pub fn open(path: &Path, busy: Duration) -> Result<Native> {
        Native::open_with_wal_limit(path, busy, WAL_LIMIT)
    }

    /// `open`, with the size (bytes) beyond which the writer copies the WAL back after
    /// every group until it starts over (see `write_loop`).
    pub fn open_with_wal_limit(path: &Path, busy: Duration, wal_limit: u64) -> Result<Native> {
        let conn = open_writer(path, busy)?;
        conn.execute_batch(&format!("PRAGMA journal_size_limit = {wal_limit};"))?;
        let copier = open_writer(path, busy)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let (wrote, written) = std::sync::mpsc::sync_channel(1);
        let checkpointing = Arc::new(Mutex::new(()));
        let wal = Wal {
            path: wal_path(path),
            limit: wal_limit,
            checkpointing: checkpointing.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, rx, wrote, wal))
            .map_err(|e| Error::Writer(format!("cannot start the writer thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-copier".into())
            .spawn(move || copy_loop(copier, written, checkpointing))
            .map_err(|e| Error::Writer(format!("cannot start the WAL copier thread: {e}")))?;
        Ok(Native {
            readers: Arc::new(Readers {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
            }),
            writer: tx,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.readers.path
    }

    /// Refuses every later read and write and closes the idle read connections.
    pub fn close(&self) {
        self.readers.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.readers.idle.lock() {
            idle.clear();
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.readers.closed.load(Ordering::SeqCst) {
            return Err(Error::Writer("the database is closed".into()));
        }
        Ok(())
    }

    /// Runs `read` on a read-only connection, on this thread.
    pub fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        self.check_open()?;
        let idle = self.readers.idle.lock().map(|mut v| v.pop()).ok().flatten();
        let conn = match idle {
            Some(c) => c,
            None => open_reader(&self.readers.path)?,
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.readers.idle.lock() {
            if idle.len() < IDLE_READERS && !self.readers.closed.load(Ordering::SeqCst) {
                idle.push(conn);
            }
        }
        Ok(result?)
    }

    /// Runs `work` on the writer's connection in the next group; its result comes back once
    /// that group is committed.
    pub async fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        self.check_open()?;
        let (done, answer) = oneshot::channel::<Result<R>>();
        let job: Job = Box::new(move |conn| match work(conn) {
            Ok(value) => Ok(Box::new(
                move |committed: std::result::Result<(), String>| {
                    let _ = done.send(committed.map(|()| value).map_err(Error::Writer));
                },
            )),
            Err(e) => {
                // Rolled back whatever the group does: the caller may know at once.
                let logged = Error::Writer(e.to_string());
                let _ = done.send(Err(e));
                Err(logged)
            }
        });
        self.writer
            .send(job)
            .await
            .map_err(|_| Error::Writer("the writer thread has stopped".into()))?;
        // A job dropped unrun (the group could not begin) drops `done` unanswered.
        match answer.await {
            Ok(r) => r,
            Err(_) => Err(Error::Writer("the write was not done".into())),
        }
    }

    /// Journals a row and changes it on the writer's connection, as a payment does, then
    /// rolls it back (see `Store::can_record_payments`).
    pub async fn probe_write(&self) -> Result<()> {
        self.write(|conn| {
            conn.execute_batch("SAVEPOINT probe")?;
            let wrote = conn
                .execute(super::journal::PROBE_INSERT, [])
                .and_then(|_| conn.execute(super::journal::PROBE_UPDATE, []));
            conn.execute_batch("ROLLBACK TO probe; RELEASE probe")?;
            wrote?;
            Ok(())
        })
        .await
    }

    /// `SELECT 1` on a read connection.
    pub fn ping(&self) -> Result<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // A reader in WAL mode waits only in rare moments (recovery of a crashed writer's
    // WAL index); it must not hold a worker thread for long.
    conn.busy_timeout(Duration::from_millis(250))?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{READER_CACHE_KIB};"))?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn open_writer(path: &Path, busy: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    // WAL lets readers run beside the writer; FULL puts every commit on disk before the
    // answer leaves.
    // wal_autocheckpoint = 0: see `write_loop`.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{READER_CACHE_KIB};"
    ))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// How often at most the writer checkpoints between two groups.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// How long the copier rests between two of its checkpoints.
const COPY_PAUSE: Duration = Duration::from_millis(10);
/// The WAL size (bytes) beyond which the writer checkpoints after every group, whatever
/// the time, until the WAL starts over; also SQLite's `journal_size_limit`, so that the
/// file is cut back to it when it does.
pub const WAL_LIMIT: u64 = 4 << 20;

/// What the writer needs to keep the WAL bounded.
struct Wal {
    /// `<database>-wal`.
    path: PathBuf,
    limit: u64,
    /// Held by whichever thread is checkpointing. Two checkpoints at once do not wait for
    /// each other in SQLite: the second finds the first's lock and copies nothing.
    checkpointing: Arc<Mutex<()>>,
}

impl Wal {
    fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The writer thread: one group per loop, until every `Store` is gone.
///
/// The WAL is copied back into the database file in two places. The copier thread
/// (`copy_loop`) copies what the groups wrote, beside the writer, so that the pages are
/// mostly copied before the writer gets to them. The writer then checkpoints too, after a
/// group's answers have left and before the next group begins: only a checkpoint that
/// finds nothing being written can copy everything, and only then does the next write
/// start the WAL over (a copier alone never caught up with a writer that commits every
/// few milliseconds: the WAL grew to 600 MB in 5 s). SQLite's own checkpoint is off on
/// this connection because it runs inside COMMIT, before the answers can leave.
///
/// The writer checkpoints every 100 ms, and after every group while the WAL file is over
/// `WAL_LIMIT`; it waits for a checkpoint of the copier's in progress rather than
/// colliding with it. So the WAL stays within the limit plus one group whatever the rate
/// of commits or the load of the machine (a time rule alone let it reach 12 MB on a loaded
/// machine: the writer's checkpoint met the copier's, copied nothing, and the WAL kept
/// growing for another 100 ms). Only a reader that keeps one snapshot open (a long
/// report) holds the WAL back, until it ends: SQLite cannot copy past what it reads.
fn write_loop(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    wrote: std::sync::mpsc::SyncSender<()>,
    wal: Wal,
) {
    let mut group: Vec<Job> = Vec::with_capacity(GROUP);
    let mut last_checkpoint = Instant::now();
    while let Some(first) = rx.blocking_recv() {
        group.push(first);
        while group.len() < GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        run_group(&mut conn, &mut group);
        let _ = wrote.try_send(()); // a notice already waiting for the copier is enough
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY || wal.size() > wal.limit {
            let _copier_waits = wal.checkpointing.lock();
            checkpoint(&conn);
            last_checkpoint = Instant::now();
        }
    }
}

/// The copier thread: after each notice from the writer, copies the WAL back. Ends when
/// the writer does.
fn copy_loop(
    conn: Connection,
    written: std::sync::mpsc::Receiver<()>,
    checkpointing: Arc<Mutex<()>>,
) {
    while written.recv().is_ok() {
        {
            let _writer_waits = checkpointing.lock();
            checkpoint(&conn);
        }
        std::thread::sleep(COPY_PAUSE);
    }
}

/// A PASSIVE checkpoint: copies what it can without waiting for or blocking anyone.
fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "SQLite checkpoint failed; the next one will retry");
    }
}

/// Runs the queued jobs in one transaction, each in its own savepoint; commits; answers.
fn run_group(conn: &mut Connection, group: &mut Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = group.len(), "SQLite writer: cannot begin");
        group.clear(); // dropping a job drops its answer channel: the caller gets an error
        return;
    }
    let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
    for job in group.drain(..) {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "SQLite writer: cannot open a savepoint");
            continue;
        }
        // A panic in one job must not stop the writer for everybody: it is rolled back
        // like any failed job.
        let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
        let kept = match outcome {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "SQLite writer: a write failed and was rolled back");
                None
            }
            Err(_) => {
                tracing::error!("SQLite writer: a write panicked and was rolled back");
                None
            }
        };
        let end = if kept.is_some() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        match conn.execute_batch(end) {
            Ok(()) => replies.extend(kept),
            Err(e) => {
                tracing::error!(error = %e, "SQLite writer: cannot close a savepoint");
                // The transaction is in an unknown state: give it up whole.
                let _ = conn.execute_batch("ROLLBACK");
                for reply in replies.drain(..) {
                    reply(Err(format!("the group was rolled back: {e}")));
                }
                return;
            }
        }
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| {
        tracing::error!(error = %e, "SQLite writer: commit failed; the group was rolled back");
        let _ = conn.execute_batch("ROLLBACK");
        format!("commit failed: {e}")
    });
    for reply in replies {
        reply(committed.clone());
    }
}
