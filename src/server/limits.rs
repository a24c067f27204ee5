//! Connection limits: a cap on connections served at once, a cap per client address, and what
//! happens beyond them. The accept loop never stops accepting (a stalled loop leaves clients
//! hanging in the kernel's backlog with no answer); a connection over a limit is shed instead:
//! answered `503` with `Retry-After` and closed, within [`SHED_TIMEOUT`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a shed connection may take to get its 503: the TLS handshake and the request head.
pub const SHED_TIMEOUT: Duration = Duration::from_secs(2);
/// What a shed client is told to wait before trying again, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The limits of one set of listeners (the HTTPS and HTTP listeners share one; each LDAP
/// listener has its own).
pub struct ConnectionLimits {
    served: Arc<Semaphore>,
    max_per_address: usize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// Connections being shed at once. Shedding costs a task and, on TLS, a handshake, so it has
    /// its own ceiling; beyond it a connection is closed at once without an answer.
    shedding: Arc<Semaphore>,
}

/// What to do with a new connection.
pub enum Admission {
    /// Serve it; the slot frees its place when dropped.
    Serve(Slot),
    /// Over a limit: answer 503 and close; the permit bounds the connections being shed.
    Shed(OwnedSemaphorePermit),
    /// Over every ceiling: close at once.
    Close,
}

/// A served connection's place under both caps.
pub struct Slot {
    _served: OwnedSemaphorePermit,
    address: IpAddr,
    limits: Arc<ConnectionLimits>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .limits
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.address);
            }
        }
    }
}

impl ConnectionLimits {
    pub fn new(max_connections: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            served: Arc::new(Semaphore::new(max_connections)),
            max_per_address,
            per_address: Mutex::new(HashMap::new()),
            // An eighth of the cap, within 16..=256: shed connections live SHED_TIMEOUT at most.
            shedding: Arc::new(Semaphore::new((max_connections / 8).clamp(16, 256))),
        })
    }

    /// Decides about a connection from `address`.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Admission {
        let shed = || match self.shedding.clone().try_acquire_owned() {
            Ok(permit) => Admission::Shed(permit),
            Err(_) => Admission::Close,
        };
        let mut map = self
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return shed();
        }
        let Ok(served) = self.served.clone().try_acquire_owned() else {
            if *count == 0 {
                map.remove(&address);
            }
            return shed();
        };
        *count += 1;
        Admission::Serve(Slot {
            _served: served,
            address,
            limits: self.clone(),
        })
    }
}

/// When a connection last moved bytes, and how many of its requests are being handled, so an
/// idle one can be closed (HTTP/2 connections and clients that stop reading their answer are
/// not covered by HTTP/1's header-read timeout).
pub struct Activity {
    started: Instant,
    /// Milliseconds from `started` to the last read or write; `u64::MAX` before the first.
    last_millis: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last_millis: AtomicU64::new(u64::MAX),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    /// How long the connection has been idle (zero while a request is being handled), and
    /// whether it has moved any bytes yet.
    pub fn idle_for(&self) -> (Duration, bool) {
        let last = self.last_millis.load(Ordering::Relaxed);
        let moved = last != u64::MAX;
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return (Duration::ZERO, moved);
        }
        let since = if moved {
            Duration::from_millis(last)
        } else {
            Duration::ZERO
        };
        (self.started.elapsed().saturating_sub(since), moved)
    }

    /// Marks a request as being handled until the guard is dropped.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// A request being handled (see [`Activity::request`]).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that records its reads and writes in an [`Activity`].
pub struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_then_overall_then_close() {
        let limits = ConnectionLimits::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = limits.admit(a);
        let second = limits.admit(a);
        assert!(matches!(first, Admission::Serve(_)));
        assert!(matches!(second, Admission::Serve(_)));
        assert!(matches!(limits.admit(a), Admission::Shed(_)), "per address");
        let third = limits.admit(b);
        assert!(matches!(third, Admission::Serve(_)));
        assert!(matches!(limits.admit(b), Admission::Shed(_)), "overall");
        drop(first);
        let fourth = limits.admit(b);
        assert!(matches!(fourth, Admission::Serve(_)), "a place freed");
        assert!(
            limits.per_address.lock().unwrap().get(&a) == Some(&1),
            "the count follows the slots"
        );
        // 16 connections may be shed at once; the next is closed without an answer.
        let shed: Vec<_> = (0..16).map(|_| limits.admit(a)).collect();
        assert!(shed.iter().all(|s| matches!(s, Admission::Shed(_))));
        assert!(matches!(limits.admit(a), Admission::Close));
    }

    #[tokio::test]
    async fn a_request_in_flight_is_not_idleness() {
        let activity = Activity::new();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (idle, moved) = activity.idle_for();
        assert!(idle >= Duration::from_millis(20) && !moved);
        let guard = activity.request();
        assert_eq!(activity.idle_for().0, Duration::ZERO);
        drop(guard);
        let (idle, moved) = activity.idle_for();
        assert!(idle < Duration::from_millis(20) && moved);
    }
}
