//! Contents operations on object_store's in-memory store: no interpreter, no server.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use s3contents_core::contents::download::{Encoding, FileContent};
use s3contents_core::contents::{Contents, Fetched, Kind};
use s3contents_core::error::Error;
use s3contents_core::keys::{ApiPath, KeyMapper};

fn p(s: &str) -> ApiPath {
    ApiPath::parse(s).unwrap()
}

fn setup(prefix: &str) -> (Arc<InMemory>, Contents) {
    let store = Arc::new(InMemory::new());
    let contents = Contents::new(store.clone(), KeyMapper::new(prefix).unwrap());
    (store, contents)
}

async fn keys(store: &InMemory) -> Vec<String> {
    let mut all: Vec<String> = store.list(None).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
    all.sort();
    all
}

async fn put(store: &InMemory, key: &str, data: &'static [u8]) {
    store.put(&Path::parse(key).unwrap(), PutPayload::from_static(data)).await.unwrap();
}

#[tokio::test]
async fn write_get_and_list_under_prefix() {
    let (store, c) = setup("users/ann");
    let entry = c.write(&p("dir/a b#?.txt"), Bytes::from_static(b"hi")).await.unwrap();
    assert_eq!(entry.kind, Kind::File);
    assert_eq!(entry.size, Some(2));
    assert_eq!(keys(&store).await, vec!["users/ann/dir/a b#?.txt"]);

    match c.get(&p("dir/a b#?.txt"), Some(Encoding::Auto)).await.unwrap() {
        Fetched::File { entry: got, data: Some(FileContent::Text(text)) } => {
            assert_eq!(text.as_ref(), b"hi");
            assert_eq!(got.last_modified, entry.last_modified);
        }
        other => panic!("expected a text file, got {other:?}"),
    }
    c.write(&p("bin"), Bytes::from_static(b"\xff\x00")).await.unwrap();
    match c.get(&p("bin"), Some(Encoding::Auto)).await.unwrap() {
        Fetched::File { data: Some(FileContent::Base64(text)), .. } => assert_eq!(text, "/wA="),
        other => panic!("expected base64, got {other:?}"),
    }
    let refused = c.get(&p("bin"), Some(Encoding::Text)).await.unwrap_err();
    assert_eq!(refused.status_code(), 400);
    c.delete(&p("bin"), false).await.unwrap();
    let root = c.list_dir(&ApiPath::ROOT).await.unwrap().unwrap();
    assert_eq!(root.len(), 1);
    assert_eq!((root[0].name(), root[0].kind), ("dir", Kind::Directory));
    let dir = c.list_dir(&p("dir")).await.unwrap().unwrap();
    assert_eq!(dir[0].last_modified, entry.last_modified);
}

#[tokio::test]
async fn markers_and_checkpoints_are_not_listed() {
    let (store, c) = setup("");
    c.make_dir(&p("empty")).await.unwrap();
    put(&store, "implicit/deep/file.txt", b"x").await;
    put(&store, "nb/.ipynb_checkpoints/a-checkpoint.ipynb", b"{}").await;
    put(&store, "nb/a.ipynb", b"{}").await;
    let mut names: Vec<(String, Kind)> = c
        .list_dir(&ApiPath::ROOT)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|e| (e.name().to_string(), e.kind))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = [("empty", Kind::Directory), ("implicit", Kind::Directory), ("nb", Kind::Directory)];
    assert_eq!(names, expected.map(|(n, k)| (n.to_string(), k)));
    assert!(c.list_dir(&p("empty")).await.unwrap().unwrap().is_empty());
    let nb: Vec<String> = c.list_dir(&p("nb")).await.unwrap().unwrap().iter().map(|e| e.name().to_string()).collect();
    assert_eq!(nb, vec!["a.ipynb"]);
    assert!(c.dir_exists(&p("implicit/deep")).await.unwrap());
    assert!(c.list_dir(&p("missing")).await.unwrap().is_none());
}

#[tokio::test]
async fn rename_tree_moves_every_key_and_refuses_existing_targets() {
    let (store, c) = setup("p");
    for key in ["p/a/x.txt", "p/a/sub/y.txt", "p/a/.s3keep", "p/a/.ipynb_checkpoints/x-checkpoint.txt"] {
        put(&store, key, b"1").await;
    }
    put(&store, "p/b.txt", b"2").await;
    assert!(matches!(c.rename(&p("a"), &p("b.txt")).await, Err(Error::AlreadyExists { .. })));
    assert!(matches!(c.rename(&p("nope"), &p("z")).await, Err(Error::NotFound { .. })));
    assert!(matches!(c.rename(&p("a"), &p("a/inner")).await, Err(Error::BadRequest(_))));
    c.rename(&p("a"), &p("c d")).await.unwrap();
    assert_eq!(
        keys(&store).await,
        vec!["p/b.txt", "p/c d/.ipynb_checkpoints/x-checkpoint.txt", "p/c d/.s3keep", "p/c d/sub/y.txt", "p/c d/x.txt"]
    );
}

#[tokio::test]
async fn copy_file_and_tree() {
    let (store, c) = setup("");
    put(&store, "t/one.txt", b"1").await;
    put(&store, "t/s/two.txt", b"2").await;
    let copied = c.copy(&p("t/one.txt"), &p("t/one-Copy1.txt")).await.unwrap();
    assert_eq!(copied.kind, Kind::File);
    let tree = c.copy(&p("t"), &p("u")).await.unwrap();
    assert_eq!(tree.kind, Kind::Directory);
    assert_eq!(
        keys(&store).await,
        // The copy claimed its target folder with a marker (create-only) before copying.
        vec!["t/one-Copy1.txt", "t/one.txt", "t/s/two.txt", "u/.s3keep", "u/one-Copy1.txt", "u/one.txt", "u/s/two.txt"]
    );
    assert!(matches!(c.copy(&p("t"), &p("u")).await, Err(Error::AlreadyExists { .. })));
}

#[tokio::test]
async fn delete_honours_non_empty_rule_and_root() {
    let (store, c) = setup("");
    put(&store, "d/f.txt", b"1").await;
    put(&store, "only-bookkeeping/.s3keep", b"").await;
    put(&store, "only-bookkeeping/.ipynb_checkpoints/f-checkpoint.txt", b"").await;
    assert!(matches!(c.delete(&ApiPath::ROOT, true).await, Err(Error::BadRequest(_))));
    assert!(matches!(c.delete(&p("d"), false).await, Err(Error::BadRequest(_))));
    c.delete(&p("only-bookkeeping"), false).await.unwrap();
    c.delete(&p("d"), true).await.unwrap();
    assert!(keys(&store).await.is_empty());
    assert!(matches!(c.delete(&p("d"), true).await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn saving_a_file_over_a_directory_is_refused() {
    let (store, c) = setup("");
    put(&store, "d/f.txt", b"1").await;
    assert!(matches!(c.write(&p("d"), Bytes::from_static(b"x")).await, Err(Error::BadRequest(_))));
    c.write(&p("file"), Bytes::from_static(b"x")).await.unwrap();
    assert!(matches!(c.make_dir(&p("file")).await, Err(Error::BadRequest(_))));
    assert_eq!(keys(&store).await, vec!["d/f.txt", "file"]);
}

#[tokio::test]
async fn checkpoints_single_and_history() {
    let (store, c) = setup("");
    c.write(&p("n/a.b.ipynb"), Bytes::from_static(b"v1")).await.unwrap();
    let single = c.create_checkpoint(&p("n/a.b.ipynb"), 1).await.unwrap();
    assert_eq!(single.id, "checkpoint");
    assert!(keys(&store).await.contains(&"n/.ipynb_checkpoints/a.b-checkpoint.ipynb".to_string()));
    c.write(&p("n/a.b.ipynb"), Bytes::from_static(b"v2")).await.unwrap();
    c.restore_checkpoint(&p("n/a.b.ipynb"), "checkpoint").await.unwrap();
    let bytes = store.get(&Path::parse("n/a.b.ipynb").unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"v1");

    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(c.create_checkpoint(&p("n/a.b.ipynb"), 3).await.unwrap().id);
    }
    let listed: Vec<String> = c.list_checkpoints(&p("n/a.b.ipynb")).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0], ids[3], "newest first");
    assert!(!listed.contains(&"checkpoint".to_string()) || listed.len() == 3);

    c.rename_checkpoint(&listed[0], &p("n/a.b.ipynb"), &p("n/z.ipynb")).await.unwrap();
    assert_eq!(c.list_checkpoints(&p("n/z.ipynb")).await.unwrap()[0].id, listed[0]);
    assert!(matches!(c.delete_checkpoint(&p("n/z.ipynb"), "nope").await, Err(Error::CheckpointNotFound { .. })));
    assert!(matches!(c.restore_checkpoint(&p("n/z.ipynb"), "../../x").await, Err(Error::BadRequest(_))));
}

#[tokio::test]
async fn timestamps_agree_between_get_stat_and_listing() {
    let (_store, c) = setup("x");
    let saved = c.write(&p("f.txt"), Bytes::from_static(b"abc")).await.unwrap();
    let stat = c.stat(&p("f.txt")).await.unwrap().unwrap();
    let listed = c.list_dir(&ApiPath::ROOT).await.unwrap().unwrap().remove(0);
    assert_eq!(saved, stat);
    assert_eq!(saved.last_modified, listed.last_modified);
    assert_eq!(saved.last_modified.timestamp_subsec_nanos(), 0);
}

#[tokio::test]
async fn resaving_never_puts_a_file_over_a_folder() {
    let (store, c) = setup("p");
    c.write(&p("x.txt"), Bytes::from_static(b"one")).await.unwrap();
    // Saved again (conditional on the version written): someone else's change is still overwritten.
    put(&store, "p/x.txt", b"someone else's").await;
    c.write(&p("x.txt"), Bytes::from_static(b"two")).await.unwrap();
    assert_eq!(store.get(&Path::parse("p/x.txt").unwrap()).await.unwrap().bytes().await.unwrap(), "two");
    // Another server replaces the file with a folder of that name: the save is refused.
    store.delete(&Path::parse("p/x.txt").unwrap()).await.unwrap();
    put(&store, "p/x.txt/inside.txt", b"folder").await;
    assert!(matches!(c.write(&p("x.txt"), Bytes::from_static(b"three")).await, Err(Error::BadRequest(_))));
    assert_eq!(keys(&store).await, vec!["p/x.txt/inside.txt".to_string()]);
}

#[tokio::test]
async fn delete_and_rename_say_what_they_found() {
    let (store, c) = setup("");
    put(&store, "f.ipynb", b"{}").await;
    put(&store, "d/a.txt", b"a").await;
    put(&store, "dotted.dir/b.txt", b"b").await;
    put(&store, "noext", b"file without extension").await;
    assert_eq!(c.rename(&p("d"), &p("e")).await.unwrap(), Kind::Directory);
    assert_eq!(c.rename(&p("noext"), &p("noext2")).await.unwrap(), Kind::File);
    assert_eq!(c.delete(&p("dotted.dir"), true).await.unwrap(), Kind::Directory);
    assert_eq!(c.delete(&p("f.ipynb"), true).await.unwrap(), Kind::File);
    // A copy of a missing file withdraws its claim.
    assert!(matches!(c.copy_listed(&p("gone.txt"), &p("gone-Copy1.txt"), None).await, Err(Error::NotFound { .. })));
    assert_eq!(keys(&store).await, vec!["e/.s3keep".to_string(), "e/a.txt".to_string(), "noext2".to_string()]);
}
