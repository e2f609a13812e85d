//! Where a table lives: a URL or path turned into an object store, the table's root inside it,
//! and the URL the Delta kernel reads the log through. Every request of a table (ours and the
//! kernel's) runs on one process-wide tokio runtime, so object-store clients and their connection
//! pools outlive the caller's runtime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use url::Url;

use crate::error::{Error, Result};

/// A table's place in an object store.
#[derive(Clone)]
pub(crate) struct Location {
    pub store: Arc<dyn ObjectStore>,
    /// The table's root directory inside `store`.
    pub root: ObjectPath,
    /// The table root for the kernel (ends with `/`).
    pub url: Url,
    /// The location as shown in errors and `Debug`.
    pub display: String,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl Location {
    /// Parses `./dir`, `/abs/dir`, `file:///...`, `memory://...`, `s3://bucket/prefix`,
    /// `az://container/prefix` (also `azure://`, `abfs[s]://`), `gs://bucket/prefix`.
    pub fn parse(location: &str, options: &HashMap<String, String>) -> Result<Location> {
        let invalid = |reason: String| Error::InvalidOption {
            option: "url",
            reason: format!("{location:?}: {reason}"),
        };
        if !location.contains("://") {
            let path = std::path::absolute(location)
                .map_err(|e| invalid(format!("not a usable path: {e}")))?;
            let path = normalize(&path);
            let url = Url::from_directory_path(&path)
                .map_err(|()| invalid("not an absolute path".into()))?;
            return Self::local(url);
        }
        let mut url = Url::parse(location).map_err(|e| invalid(e.to_string()))?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        match url.scheme() {
            "file" => Self::local(url),
            "memory" => {
                let path = format!("{}{}", url.host_str().unwrap_or(""), url.path());
                let root = ObjectPath::parse(path.trim_matches('/'))
                    .map_err(|e| invalid(e.to_string()))?;
                let url = Url::parse(&format!("memory:///{root}/"))
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(Location {
                    store: memory_store(),
                    root,
                    display: location.trim_end_matches('/').to_owned(),
                    url,
                })
            }
            _ => {
                let (store, root) = cloud_store(&url, options).map_err(invalid)?;
                Ok(Location {
                    store,
                    root,
                    display: location.trim_end_matches('/').to_owned(),
                    url,
                })
            }
        }
    }

    /// A table at `prefix` inside a store the caller built.
    pub fn with_store(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Location> {
        let root =
            ObjectPath::parse(prefix.trim_matches('/')).map_err(|e| Error::InvalidOption {
                option: "prefix",
                reason: format!("{prefix:?}: {e}"),
            })?;
        let url =
            Url::parse(&format!("object-store:///{root}/")).map_err(|e| Error::InvalidOption {
                option: "prefix",
                reason: format!("{prefix:?}: {e}"),
            })?;
        Ok(Location {
            display: format!("{store}/{root}"),
            store,
            root,
            url,
        })
    }

    fn local(url: Url) -> Result<Location> {
        let invalid = |reason: String| Error::InvalidOption {
            option: "url",
            reason: format!("{url}: {reason}"),
        };
        let path = url
            .to_file_path()
            .map_err(|()| invalid("not a local path".into()))?;
        let path = normalize(&path);
        let url =
            Url::from_directory_path(&path).map_err(|()| invalid("not a local path".into()))?;
        let root = ObjectPath::from_absolute_path(&path).map_err(|e| invalid(e.to_string()))?;
        // fsync of files and directories: a commit acknowledged is on disk.
        let store = object_store::local::LocalFileSystem::new().with_fsync(true);
        Ok(Location {
            store: Arc::new(store),
            root,
            display: path.display().to_string().trim_end_matches('/').to_owned(),
            url,
        })
    }

    /// An object below the table root (`rel` uses `/`).
    pub fn child(&self, rel: &str) -> ObjectPath {
        let mut path = self.root.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            // As written (a Hive directory `k=a%2Fb` stays that object name, as other Delta
            // writers and readers name it); only a part the store cannot take is encoded.
            path = match object_store::path::PathPart::parse(part) {
                Ok(raw) => path.join(raw),
                Err(_) => path.join(part),
            };
        }
        path
    }

    /// The log directory.
    pub fn log_dir(&self) -> ObjectPath {
        self.root.clone().join("_delta_log")
    }

    /// How an object is named in errors.
    pub fn describe(&self, path: &ObjectPath) -> String {
        let rel = path
            .prefix_match(&self.root)
            .map(|parts| {
                parts
                    .map(|p| p.as_ref().to_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_else(|| path.to_string());
        format!("{}/{rel}", self.display)
    }

    /// An object-store error on `path`.
    pub fn error(
        &self,
        operation: &'static str,
        path: &ObjectPath,
        e: object_store::Error,
    ) -> Error {
        Error::ObjectStore {
            operation,
            location: self.describe(path),
            source: Box::new(e),
        }
    }
}

/// The object store of an `s3://`, `az://` (`azure://`, `abfs[s]://`, `adl://`) or `gs://` URL:
/// configuration from the environment (`AWS_*`, `AZURE_*`, `GOOGLE_*`, as `object_store`'s
/// `from_env` reads it), then `options` (keys as `object_store` names them, any case).
fn cloud_store(
    url: &Url,
    options: &HashMap<String, String>,
) -> std::result::Result<(Arc<dyn ObjectStore>, ObjectPath), String> {
    use object_store::ObjectStoreScheme;
    let (scheme, root) = ObjectStoreScheme::parse(url).map_err(|e| e.to_string())?;
    let options = options
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()));
    let unknown = |key: &str, e: object_store::Error| format!("storage option {key:?}: {e}");
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let parsed: AmazonS3ConfigKey = key.parse().map_err(|e| unknown(&key, e))?;
                builder = builder.with_config(parsed, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut builder = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let parsed: AzureConfigKey = key.parse().map_err(|e| unknown(&key, e))?;
                builder = builder.with_config(parsed, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
            for (key, value) in options {
                let parsed: GoogleConfigKey = key.parse().map_err(|e| unknown(&key, e))?;
                builder = builder.with_config(parsed, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "{other:?} URLs are not supported (file, memory, s3, az, gs are)"
            ));
        }
    };
    Ok((store, root))
}

/// `path` without `.` and `..` components (resolved lexically, as a shell does with `cd`).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The process-wide in-memory object store behind every `memory://` URL (so two `DeltaStore`s
/// opened at the same `memory://` URL share the table, as two on the same directory do).
fn memory_store() -> Arc<dyn ObjectStore> {
    static STORE: OnceLock<Arc<dyn ObjectStore>> = OnceLock::new();
    Arc::clone(STORE.get_or_init(|| Arc::new(object_store::memory::InMemory::new())))
}

/// The runtime every object-store request of every table runs on.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("soa-delta-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Task(format!("cannot start the Delta I/O runtime: {e}")))
}

/// Runs `future` on the I/O runtime and waits for it without blocking the caller's runtime.
pub(crate) async fn io<F, R>(future: F) -> Result<R>
where
    F: Future<Output = Result<R>> + Send + 'static,
    R: Send + 'static,
{
    runtime()?
        .spawn(future)
        .await
        .map_err(|e| Error::Task(format!("an object-store request failed to run: {e}")))?
}
