//! Reading the committed state from disk: the manifest (re-read whenever another process or
//! store instance has committed since), checked against the files it lists.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};

use super::fsio::{self, Stamp};
use super::manifest::{Manifest, StoredFile};

/// How often the manifest may change under a reader before it gives up (each change is a commit
/// of another writer that finished while we looked; a hundred in a row means something is wrong).
const ATTEMPTS: usize = 100;

/// The committed state as read from disk.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub manifest: Manifest,
    /// The manifest file this state was read from (`None`: the directory has no manifest yet).
    pub stamp: Option<Stamp>,
    /// Files the manifest lists that exist neither under their name nor under a pending staging
    /// name: their rows are lost. They are left out of `manifest` (the state rolls back to the
    /// files that are still whole), and the next commit writes the repaired manifest.
    pub dropped: Vec<StoredFile>,
}

/// Reads the manifest of `dir` and checks that every file it lists is present. A file that is
/// missing while the manifest changes is a race with a commit (read again), a file missing from
/// an unchanged manifest is lost (reported in [`Committed::dropped`]).
///
/// Never writes or deletes anything: readers in any process may call it at any time.
pub(crate) fn read_committed(dir: &Path, type_name: &str) -> Result<Committed> {
    let path = fsio::manifest_path(dir);
    for _ in 0..ATTEMPTS {
        let Some(before) = fsio::stamp(&path)? else {
            return Ok(Committed {
                manifest: Manifest::empty(type_name),
                stamp: None,
                dropped: Vec::new(),
            });
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| Error::Corrupt {
            path: path.clone(),
            reason: "the manifest is not UTF-8 text".into(),
        })?;
        let mut manifest = Manifest::decode(&text, &path)?;
        if manifest.type_name != type_name {
            return Err(Error::SchemaMismatch {
                path: Some(path),
                reason: format!(
                    "the store holds rows of type `{}`, expected `{type_name}`",
                    manifest.type_name
                ),
            });
        }
        let missing: Vec<bool> = manifest
            .files
            .iter()
            .map(|file| !is_present(dir, &manifest, file))
            .collect();
        if !missing.contains(&true) {
            return Ok(Committed {
                manifest,
                stamp: Some(before),
                dropped: Vec::new(),
            });
        }
        if fsio::stamp(&path)? != Some(before) {
            continue; // a commit replaced the manifest (and maybe removed files) meanwhile
        }
        let mut dropped = Vec::new();
        let mut kept = Vec::new();
        for (file, gone) in manifest.files.drain(..).zip(missing) {
            if gone {
                dropped.push(file);
            } else {
                kept.push(file);
            }
        }
        manifest.files = kept;
        let files = &manifest.files;
        manifest
            .pending
            .retain(|(_, target)| files.iter().any(|f| f.name == *target));
        return Ok(Committed {
            manifest,
            stamp: Some(before),
            dropped,
        });
    }
    Err(Error::io(
        &path,
        io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("the manifest changed {ATTEMPTS} times while it was being read"),
        ),
    ))
}

/// `true` if `file` exists under the staging name of a pending rename or under its name (in
/// this order: the rename is atomic, so one of the two looks finds it).
fn is_present(dir: &Path, manifest: &Manifest, file: &StoredFile) -> bool {
    let exists = |name: &str| std::fs::symlink_metadata(dir.join(name)).is_ok();
    manifest
        .pending
        .iter()
        .any(|(staged, target)| *target == file.name && exists(staged))
        || exists(&file.name)
}

/// The staging name under which `file` may still be found (a committed rename not yet applied).
pub(crate) fn staged_name_of<'m>(manifest: &'m Manifest, file: &StoredFile) -> Option<&'m str> {
    manifest
        .pending
        .iter()
        .find(|(_, target)| *target == file.name)
        .map(|(staged, _)| staged.as_str())
}
