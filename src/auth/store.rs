//! Where OAuth credentials live between runs: one record per backend (its
//! endpoint, the client registration mcpmux made or was given, and the
//! tokens), as a 0600 JSON file under `$XDG_STATE_HOME/mcpmux/oauth/` (a 0700
//! directory), written atomically (a temporary file renamed over the old
//! one), or in memory when `token_store.enabled` is false. A record answers
//! only for the endpoint it was made for, so a changed endpoint never reuses
//! old tokens and two backends on one endpoint never share them. A lock file
//! beside each record, taken with `flock`, guards a refresh (load, token
//! request, save) across processes, so the daemon and `mcpmux auth login`
//! never spend the same refresh token twice. This is rmcp's
//! `CredentialStore` for the OAuth manager; nothing here ever logs a token.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use oauth2::TokenResponse as _;
use rmcp::transport::auth::{
    AuthError, AuthorizationMetadata, CredentialRefreshGuard, CredentialStore, StoredCredentials,
};
use serde::{Deserialize, Serialize};

/// A client registration: what the authorization server knows mcpmux by.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The redirect URI it was registered with; reused only while it matches.
    pub redirect_uri: String,
    /// The authorization server that registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// How it came about: `dynamic`, `metadata-document` or `pre-registered`.
    pub method: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("redirect_uri", &self.redirect_uri)
            .field("method", &self.method)
            .finish()
    }
}

/// Everything kept for one backend.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<StoredCredentials>,
    /// The authorization server's metadata as found at the consent (perhaps
    /// only through a 401 challenge, which a restart does not see).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<AuthorizationMetadata>,
}

/// The directory of the token store: `$XDG_STATE_HOME/mcpmux/oauth`, else
/// `~/.local/state/mcpmux/oauth`.
pub fn default_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("mcpmux").join("oauth"))
}

fn store_error(what: &str, path: &Path, e: impl std::fmt::Display) -> AuthError {
    AuthError::CredentialStoreError(format!("{what} {}: {e}", path.display()))
}

/// One backend's record, on disk or in memory.
#[derive(Clone)]
pub struct Store {
    endpoint: Arc<str>,
    place: Place,
}

#[derive(Clone)]
enum Place {
    File { path: PathBuf, lock: PathBuf },
    Memory(Arc<Mutex<Record>>, Arc<tokio::sync::Mutex<()>>),
}

impl Store {
    /// The record of backend `name` at `endpoint` in directory `dir`.
    pub fn file(dir: &Path, name: &str, endpoint: &str) -> Store {
        Store {
            endpoint: endpoint.into(),
            place: Place::File {
                path: dir.join(format!("{name}.json")),
                lock: dir.join(format!("{name}.lock")),
            },
        }
    }

    /// A record that lasts as long as this process.
    pub fn memory(endpoint: &str) -> Store {
        Store {
            endpoint: endpoint.into(),
            place: Place::Memory(
                Arc::new(Mutex::new(Record {
                    endpoint: endpoint.to_string(),
                    ..Record::default()
                })),
                Arc::default(),
            ),
        }
    }

    /// Where the record is kept, if on disk.
    pub fn path(&self) -> Option<&Path> {
        match &self.place {
            Place::File { path, .. } => Some(path),
            Place::Memory(..) => None,
        }
    }

    /// The record, empty when there is none for this endpoint.
    pub fn read(&self) -> Result<Record, AuthError> {
        let empty = || Record {
            endpoint: self.endpoint.to_string(),
            ..Record::default()
        };
        match &self.place {
            Place::Memory(m, _) => Ok(m.lock().map_or_else(|p| p.into_inner().clone(), |r| r.clone())),
            Place::File { path, .. } => {
                let text = match std::fs::read(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
                    Err(e) => return Err(store_error("cannot read", path, e)),
                };
                let record: Record = match serde_json::from_slice(&text) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "ignoring an unreadable token store record: {e}");
                        return Ok(empty());
                    }
                };
                if record.endpoint != *self.endpoint {
                    return Ok(empty());
                }
                Ok(record)
            }
        }
    }

    /// Replaces the record.
    pub fn write(&self, record: &Record) -> Result<(), AuthError> {
        match &self.place {
            Place::Memory(m, _) => {
                *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = record.clone();
                Ok(())
            }
            Place::File { path, .. } => write_private(path, &serde_json::to_vec_pretty(record).unwrap_or_default()),
        }
    }

    /// Changes the record with `f` (read, change, write).
    pub fn update(&self, f: impl FnOnce(&mut Record)) -> Result<(), AuthError> {
        let mut record = self.read()?;
        record.endpoint = self.endpoint.to_string();
        f(&mut record);
        self.write(&record)
    }

    /// Forgets everything kept for this backend.
    pub fn remove(&self) -> Result<bool, AuthError> {
        match &self.place {
            Place::Memory(m, _) => {
                let mut r = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let had = r.credentials.is_some() || r.registration.is_some();
                *r = Record {
                    endpoint: self.endpoint.to_string(),
                    ..Record::default()
                };
                Ok(had)
            }
            Place::File { path, .. } => match std::fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(store_error("cannot remove", path, e)),
            },
        }
    }

    /// Takes the lock of this record — across processes for a file (an
    /// `flock`, taken in a worker thread), within this one in memory —
    /// released when the guard drops.
    pub async fn lock(&self) -> Result<Lock, AuthError> {
        let lock = match &self.place {
            Place::Memory(_, m) => return Ok(Lock::Memory(m.clone().lock_owned().await)),
            Place::File { lock, .. } => lock,
        };
        let lock = lock.clone();
        tokio::task::spawn_blocking(move || {
            ensure_dir(lock.parent().unwrap_or(Path::new(".")))?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode_private()
                .open(&lock)
                .map_err(|e| store_error("cannot open", &lock, e))?;
            file.lock().map_err(|e| store_error("cannot lock", &lock, e))?;
            Ok(Lock::File(file))
        })
        .await
        .map_err(|e| AuthError::CredentialStoreError(e.to_string()))?
    }
}

/// A held lock of a record.
pub enum Lock {
    File(#[allow(dead_code)] std::fs::File),
    Memory(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
}

/// `mode(0o600)` on the open options.
trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// Creates the store directory (and its parents) with mode 0700.
fn ensure_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| store_error("cannot create", dir, e))?;
    }
    let perms = std::fs::metadata(dir).map_err(|e| store_error("cannot inspect", dir, e))?;
    if perms.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| store_error("cannot restrict", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically, readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("record"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode_private()
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself must reach the disk to survive a power cut.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        store_error("cannot write", path, e)
    })
}

#[async_trait::async_trait]
impl CredentialStore for Store {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        Ok(self.read()?.credentials)
    }

    async fn save(&self, credentials: StoredCredentials) -> Result<(), AuthError> {
        self.update(|r| r.credentials = Some(credentials))
    }

    async fn clear(&self) -> Result<(), AuthError> {
        self.update(|r| {
            r.credentials = None;
            r.registration = None;
        })
    }

    async fn on_refresh_token_rejected(&self, rejected: &StoredCredentials) -> Result<(), AuthError> {
        // invalid_grant: the refresh token is dead. Drop the tokens (only if
        // no one replaced them meanwhile) so the next attempt asks for a
        // consent instead of trying the same refresh token again.
        let same = |c: &StoredCredentials| {
            c.token_response
                .as_ref()
                .and_then(|t| t.refresh_token())
                .map(|r| r.secret())
                == rejected
                    .token_response
                    .as_ref()
                    .and_then(|t| t.refresh_token())
                    .map(|r| r.secret())
        };
        self.update(|r| {
            if r.credentials.as_ref().is_some_and(same) {
                r.credentials = None;
            }
        })
    }

    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, AuthError> {
        Ok(Some(CredentialRefreshGuard::new(self.lock().await?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_answer_only_for_their_endpoint_and_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mcpmux-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Store::file(&dir, "api", "https://a.example/mcp");
        a.update(|r| {
            r.registration = Some(Registration {
                client_id: "c1".into(),
                client_secret: Some("s".into()),
                redirect_uri: "http://127.0.0.1:1/callback".into(),
                issuer: None,
                method: "dynamic".into(),
            })
        })
        .unwrap();
        assert_eq!(a.read().unwrap().registration.unwrap().client_id, "c1");
        let moved = Store::file(&dir, "api", "https://b.example/mcp");
        assert!(moved.read().unwrap().registration.is_none());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(a.path().unwrap()), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert!(a.remove().unwrap());
        assert!(a.read().unwrap().registration.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
