//! An `ObjectStore` over `InMemory` that fails the nth request of one kind (put, get, head, list,
//! delete): a generic error, a timeout-like error (for get: the body breaks off half way; for
//! list: after the first entry), or an error after the request took effect (a lost response).
//!
//! The trait is `#[async_trait]`; the tests crate does not depend on `async-trait`, so the
//! methods are written as it expands them (boxed futures).

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result,
};

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Put,
    Get,
    Head,
    List,
    Delete,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Put, Kind::Get, Kind::Head, Kind::List, Kind::Delete];

    /// The failure modes that make sense for this kind.
    pub fn modes(self) -> &'static [Mode] {
        match self {
            Kind::Put => &[
                Mode::Generic,
                Mode::Timeout,
                Mode::LostResponse,
                Mode::LostResponseThenGetFails,
            ],
            Kind::Get | Kind::Head | Kind::List => &[Mode::Generic, Mode::Timeout],
            Kind::Delete => &[Mode::Generic, Mode::LostResponse],
        }
    }
}

/// How the chosen request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A generic error; the request did nothing.
    Generic,
    /// A timeout: for get, the body breaks off half way; for list, after the first entry;
    /// otherwise an error with `io::ErrorKind::TimedOut`, the request did nothing.
    Timeout,
    /// The request took effect, then an error (the response was lost).
    LostResponse,
    /// As `LostResponse`, and the next get fails too (the writer cannot look at what it did):
    /// two faults in a row.
    LostResponseThenGetFails,
}

#[derive(Default)]
struct State {
    armed: Option<(Kind, Mode, u64)>,
    seen: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    fired: AtomicBool,
    /// Fail the next get (`LostResponseThenGetFails`).
    fail_next_get: AtomicBool,
}

impl Shared {
    /// Counts a request of `kind`; the failure mode if it is the chosen one.
    fn fail(&self, kind: Kind) -> Option<Mode> {
        let mut state = self.state.lock().unwrap();
        let (armed_kind, mode, n) = state.armed?;
        if armed_kind != kind {
            return None;
        }
        state.seen += 1;
        if state.seen == n {
            self.fired.store(true, Ordering::SeqCst);
            Some(mode)
        } else {
            None
        }
    }
}

/// See the module documentation.
pub struct Failing {
    inner: Arc<InMemory>,
    shared: Arc<Shared>,
}

impl Failing {
    pub fn new(inner: Arc<InMemory>) -> Self {
        Failing {
            inner,
            shared: Arc::default(),
        }
    }

    /// Fails the `n`th request of `kind` from now on.
    pub fn arm(&self, kind: Kind, mode: Mode, n: u64) {
        let mut state = self.shared.state.lock().unwrap();
        state.armed = Some((kind, mode, n));
        state.seen = 0;
        self.shared.fired.store(false, Ordering::SeqCst);
        self.shared.fail_next_get.store(false, Ordering::SeqCst);
    }

    /// Stops failing; `true` if the failure was injected.
    pub fn disarm(&self) -> bool {
        self.shared.state.lock().unwrap().armed = None;
        self.shared.fail_next_get.store(false, Ordering::SeqCst);
        self.shared.fired.load(Ordering::SeqCst)
    }
}

fn generic(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "Failing",
        source: Box::new(std::io::Error::other(format!("injected failure: {what}"))),
    }
}

fn timeout(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "Failing",
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("injected timeout: {what}: operation timed out"),
        )),
    }
}

fn lost(what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "Failing",
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            format!("injected lost response: {what} took effect, then the connection reset"),
        )),
    }
}

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failing({})", self.inner)
    }
}

impl fmt::Debug for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failing({:?})", self.inner)
    }
}

/// A listing that fails as `mode` says.
fn failing_list(
    listing: BoxStream<'static, Result<ObjectMeta>>,
    mode: Mode,
) -> BoxStream<'static, Result<ObjectMeta>> {
    match mode {
        Mode::Timeout => listing
            .take(1)
            .chain(futures::stream::once(async { Err(timeout("list")) }))
            .boxed(),
        _ => futures::stream::once(async { Err(generic("list")) }).boxed(),
    }
}

impl ObjectStore for Failing {
    fn put_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Fut<'async_trait, Result<PutResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            match self.shared.fail(Kind::Put) {
                None => self.inner.put_opts(location, payload, opts).await,
                Some(Mode::Generic) => Err(generic("put")),
                Some(Mode::Timeout) => Err(timeout("put")),
                Some(Mode::LostResponse) => {
                    self.inner.put_opts(location, payload, opts).await?;
                    Err(lost("put"))
                }
                Some(Mode::LostResponseThenGetFails) => {
                    self.inner.put_opts(location, payload, opts).await?;
                    self.shared.fail_next_get.store(true, Ordering::SeqCst);
                    Err(lost("put"))
                }
            }
        })
    }

    fn put_multipart_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        opts: PutMultipartOptions,
    ) -> Fut<'async_trait, Result<Box<dyn MultipartUpload>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            match self.shared.fail(Kind::Put) {
                None => self.inner.put_multipart_opts(location, opts).await,
                Some(Mode::Timeout) => Err(timeout("put multipart")),
                Some(_) => Err(generic("put multipart")),
            }
        })
    }

    fn get_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        options: GetOptions,
    ) -> Fut<'async_trait, Result<GetResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let kind = if options.head { Kind::Head } else { Kind::Get };
            if !options.head && self.shared.fail_next_get.swap(false, Ordering::SeqCst) {
                return Err(generic("get after a lost put response"));
            }
            match self.shared.fail(kind) {
                None => self.inner.get_opts(location, options).await,
                Some(Mode::Timeout) if kind == Kind::Get => {
                    let GetResult {
                        payload,
                        meta,
                        range,
                        attributes,
                        extensions,
                    } = self.inner.get_opts(location, options).await?;
                    let GetResultPayload::Stream(stream) = payload else {
                        return Err(generic("get: not a stream"));
                    };
                    let chunks: Vec<Bytes> = stream
                        .collect::<Vec<_>>()
                        .await
                        .into_iter()
                        .collect::<Result<_>>()?;
                    let body: Vec<u8> = chunks.concat();
                    let half = Bytes::from(body[..body.len() / 2].to_vec());
                    let stream = futures::stream::iter([Ok(half), Err(timeout("get body"))]);
                    Ok(GetResult {
                        payload: GetResultPayload::Stream(stream.boxed()),
                        meta,
                        range,
                        attributes,
                        extensions,
                    })
                }
                Some(Mode::Timeout) => Err(timeout("head")),
                Some(_) => Err(generic(if kind == Kind::Head { "head" } else { "get" })),
            }
        })
    }

    fn get_ranges<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        location: &'life1 Path,
        ranges: &'life2 [Range<u64>],
    ) -> Fut<'async_trait, Result<Vec<Bytes>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            match self.shared.fail(Kind::Get) {
                None => self.inner.get_ranges(location, ranges).await,
                Some(Mode::Timeout) => Err(timeout("get ranges")),
                Some(_) => Err(generic("get ranges")),
            }
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        let shared = Arc::clone(&self.shared);
        locations
            .then(move |location| {
                let inner = Arc::clone(&inner);
                let shared = Arc::clone(&shared);
                async move {
                    let location = location?;
                    match shared.fail(Kind::Delete) {
                        None => {
                            inner.delete(&location).await?;
                            Ok(location)
                        }
                        Some(Mode::LostResponse | Mode::LostResponseThenGetFails) => {
                            inner.delete(&location).await?;
                            Err(lost("delete"))
                        }
                        Some(Mode::Timeout) => Err(timeout("delete")),
                        Some(Mode::Generic) => Err(generic("delete")),
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let listing = self.inner.list(prefix);
        match self.shared.fail(Kind::List) {
            None => listing,
            Some(mode) => failing_list(listing, mode),
        }
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let listing = self.inner.list_with_offset(prefix, offset);
        match self.shared.fail(Kind::List) {
            None => listing,
            Some(mode) => failing_list(listing, mode),
        }
    }

    fn list_with_delimiter<'life0, 'life1, 'async_trait>(
        &'life0 self,
        prefix: Option<&'life1 Path>,
    ) -> Fut<'async_trait, Result<ListResult>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            match self.shared.fail(Kind::List) {
                None => self.inner.list_with_delimiter(prefix).await,
                Some(Mode::Timeout) => Err(timeout("list with delimiter")),
                Some(_) => Err(generic("list with delimiter")),
            }
        })
    }

    fn copy_opts<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        from: &'life1 Path,
        to: &'life2 Path,
        options: CopyOptions,
    ) -> Fut<'async_trait, Result<()>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.copy_opts(from, to, options).await })
    }

    fn rename_opts<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        from: &'life1 Path,
        to: &'life2 Path,
        options: RenameOptions,
    ) -> Fut<'async_trait, Result<()>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.rename_opts(from, to, options).await })
    }
}
