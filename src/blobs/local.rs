//! Blobs in a local folder (`STORAGE_URL=file:///var/lib/order-chat/files`): the default, for
//! one node. Writes go to a temporary file first and are renamed into place (object_store's
//! `LocalFileSystem`), so a reader never sees half a file.

use std::sync::Arc;

use object_store::local::LocalFileSystem;

use super::{BlobResult, Objects};

pub(super) fn open(folder: &str) -> BlobResult<Objects> {
    std::fs::create_dir_all(folder)?;
    let fs = LocalFileSystem::new_with_prefix(folder)?;
    Ok(Objects::new(
        Arc::new(fs),
        "",
        format!("local folder {folder}"),
    ))
}
