//! [`CheckpointStore`]: where a pipeline saves its resume point. [`MemoryCheckpointStore`] for
//! tests and embedding, [`FileCheckpointStore`] for programs (atomic replace).

use std::fs::{self, File};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{BoxError, Error};
use crate::position::Checkpoint;

/// Saves and loads the last [`Checkpoint`].
///
/// The pipeline calls [`commit`](CheckpointStore::commit) only with checkpoints whose every
/// earlier record was acknowledged, never concurrently with itself.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The last committed checkpoint, if any.
    fn load(&self) -> impl Future<Output = Result<Option<Checkpoint>, Self::Error>> + Send;

    /// Replaces the saved checkpoint with `checkpoint`, durably.
    fn commit(
        &self,
        checkpoint: &Checkpoint,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Keeps the checkpoint in memory; clones share it. Counts commits (for tests and reports).
#[derive(Clone, Debug, Default)]
pub struct MemoryCheckpointStore {
    inner: Arc<Mutex<(Option<Checkpoint>, u64)>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `checkpoint`, as if a previous run committed it.
    #[must_use]
    pub fn with(checkpoint: Checkpoint) -> Self {
        Self {
            inner: Arc::new(Mutex::new((Some(checkpoint), 0))),
        }
    }

    /// The saved checkpoint.
    #[must_use]
    pub fn get(&self) -> Option<Checkpoint> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// How many commits happened.
    #[must_use]
    pub fn commits(&self) -> u64 {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    type Error = std::convert::Infallible;

    async fn load(&self) -> Result<Option<Checkpoint>, Self::Error> {
        Ok(self.get())
    }

    async fn commit(&self, checkpoint: &Checkpoint) -> Result<(), Self::Error> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        g.0 = Some(checkpoint.clone());
        g.1 += 1;
        Ok(())
    }
}

/// Keeps the checkpoint in a JSON file, replaced atomically: write a temporary file beside it,
/// fsync it, rename it over the old one, fsync the directory. A crash leaves the old or the new
/// checkpoint, never a torn one.
#[derive(Clone, Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
}

impl FileCheckpointStore {
    /// A store at `path` (created on the first commit).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, op: &'static str, source: impl Into<BoxError>) -> Error {
        Error::Checkpoint {
            op,
            path: self.path.clone(),
            source: source.into(),
        }
    }

    fn load_blocking(&self) -> Result<Option<Checkpoint>, Error> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error("load", e)),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| self.error("load", e))
    }

    fn commit_blocking(&self, checkpoint: &Checkpoint) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(checkpoint).map_err(|e| self.error("commit", e))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .ok_or_else(|| self.error("commit", "not a file path"))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&json)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            File::open(&dir)?.sync_all()
        };
        write().map_err(|e| self.error("commit", e))
    }
}

impl CheckpointStore for FileCheckpointStore {
    type Error = Error;

    async fn load(&self) -> Result<Option<Checkpoint>, Error> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.load_blocking())
            .await
            .map_err(|e| self.error("load", e))?
    }

    async fn commit(&self, checkpoint: &Checkpoint) -> Result<(), Error> {
        let this = self.clone();
        let checkpoint = checkpoint.clone();
        tokio::task::spawn_blocking(move || this.commit_blocking(&checkpoint))
            .await
            .map_err(|e| self.error("commit", e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::{BinlogPosition, Position};

    fn cp(offset: u64) -> Checkpoint {
        Checkpoint::new(
            Position::binlog(BinlogPosition::new("mysql-bin.000001", offset)),
            offset,
        )
    }

    #[tokio::test]
    async fn file_store_round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("cp.json"));
        assert_eq!(store.load().await.unwrap(), None);
        store.commit(&cp(4)).await.unwrap();
        store.commit(&cp(900)).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(cp(900)));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("cp.json")],
            "no temp file left behind"
        );
    }

    #[tokio::test]
    async fn file_store_reports_corrupt_file_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        fs::write(&path, b"{ not json").unwrap();
        let err = FileCheckpointStore::new(&path).load().await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cp.json") && text.contains("load"), "{text}");
    }

    #[tokio::test]
    async fn file_store_reports_unwritable_dir() {
        let err = FileCheckpointStore::new("/nonexistent-dir-dts/cp.json")
            .commit(&cp(1))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir-dts/cp.json"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn memory_store_counts_commits() {
        let store = MemoryCheckpointStore::new();
        store.commit(&cp(1)).await.unwrap();
        store.commit(&cp(2)).await.unwrap();
        assert_eq!((store.get(), store.commits()), (Some(cp(2)), 2));
    }
}
