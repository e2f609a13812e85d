//! The registry of snapshot sources: DuckDB's table functions take SQL values as arguments, so
//! a view names its source by a token; the owning engine removes its tokens when dropped.

use super::*;

/// How one column of a store is handed to DuckDB.
#[derive(Debug, Clone)]
pub(super) enum ColumnPlan {
    /// As it is.
    Plain,
    /// A unit enum: the `ArrowStore` scan declares an `ENUM` of the variant names and hands
    /// DuckDB the variant indexes (the dictionary keys) in its storage type; the Parquet view
    /// casts the file's strings to that `ENUM`.
    EnumKeys {
        storage: DataType,
        variants: Arc<[String]>,
    },
    /// Dictionary-encoded data (possibly nested), decoded to this type first.
    Decode(DataType),
}

/// A registered `ArrowStore`, type-erased.
pub(super) struct Source {
    /// The fields as the scan emits them (enum columns as the `ENUM`'s storage type).
    pub(super) scan_fields: Vec<FieldRef>,
    pub(super) plans: Vec<ColumnPlan>,
    pub(super) snapshot: Box<dyn Fn() -> Result<Vec<RecordBatch>> + Send + Sync>,
}

/// Registered sources by token. DuckDB's table functions take SQL values as arguments, so a
/// view names its store by a token; the owning engine removes its tokens when it is dropped.
pub(super) static SOURCES: LazyLock<Mutex<HashMap<u64, Arc<Source>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
pub(super) static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

pub(super) fn sources() -> MutexGuard<'static, HashMap<u64, Arc<Source>>> {
    // Only inserts and removes happen under the lock: a poisoned map is still consistent.
    SOURCES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tokens of one engine (shared by its clones), removed from the registry on drop.
#[derive(Default)]
pub(super) struct Tables {
    /// Lower-cased view name (DuckDB identifiers are case-insensitive) to token.
    pub(super) tokens: Mutex<HashMap<String, u64>>,
}

impl Tables {
    pub(super) fn lock(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `token` (or none) as the source of view `name`, releasing the previous one.
    pub(super) fn set(&self, name: &str, token: Option<u64>) {
        let key = name.to_lowercase();
        let old = match token {
            Some(token) => self.lock().insert(key, token),
            None => self.lock().remove(&key),
        };
        if let Some(old) = old {
            let removed = sources().remove(&old);
            drop(removed);
        }
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        let tokens: Vec<u64> = self.lock().drain().map(|(_, t)| t).collect();
        // Drop the sources (and the stores they hold) outside the registry lock.
        let removed: Vec<_> = {
            let mut sources = sources();
            tokens.iter().filter_map(|t| sources.remove(t)).collect()
        };
        drop(removed);
    }
}
