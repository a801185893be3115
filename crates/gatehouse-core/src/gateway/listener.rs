//! The gateway's listening socket, guarded against other local users: any
//! process on the machine can reach 127.0.0.1, token or not.
//!
//! - At most [`MAX_CONNECTIONS`] connections at once; more wait in the
//!   kernel's backlog until one closes (a flood cannot use up the app's
//!   file descriptors).
//! - A connection on which nothing moves, in either direction, for
//!   [`IDLE_TIMEOUT`] is closed: a client that sends half a request and
//!   stalls cannot hold its slot. An open event stream stays alive: the
//!   server writes a keep-alive on it every 15 s.
//! - `TCP_NODELAY`: small answers leave at once instead of waiting out
//!   the client's delayed ACK.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 256;

/// How long a connection may stay silent both ways.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A [`TcpListener`] that hands out at most `limit` connections at once,
/// each closed after `idle` without traffic.
pub(crate) struct GuardedListener {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl GuardedListener {
    pub(crate) fn new(listener: TcpListener, limit: usize, idle: Duration) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(limit)),
            idle,
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the gateway's connection slots are never closed");
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "TCP_NODELAY could not be set");
                    }
                    return (GuardedStream::new(stream, permit, self.idle), addr);
                }
                Err(error) => {
                    // Out of descriptors, or a connection reset before it
                    // was taken: wait a moment rather than spin.
                    tracing::debug!(%error, "the gateway could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// An accepted connection: its slot is freed when it is dropped, and it
/// fails with `TimedOut` once nothing has moved for the idle time.
pub(crate) struct GuardedStream {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl GuardedStream {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> Self {
        Self {
            stream,
            _slot: slot,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// Something moved: the idle time starts again.
    fn moved(&mut self) {
        let idle = self.idle;
        self.deadline.as_mut().reset(Instant::now() + idle);
    }

    /// A write's outcome: bytes written restart the idle time; a write
    /// that waits (a client that stops reading) has the same limit.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    /// While waiting: has the connection been silent for too long?
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, data);
        self.wrote(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn guarded(limit: usize, idle: Duration) -> (GuardedListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (GuardedListener::new(listener, limit, idle), addr)
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_and_a_busy_one_is_not() {
        let (mut listener, addr) = guarded(4, Duration::from_millis(300)).await;
        let _silent = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await;
        let mut byte = [0u8; 1];
        let started = std::time::Instant::now();
        let error = server_side.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(250));

        // Writing every 100 ms keeps a connection open past the idle time.
        let mut talker = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await;
        let writer = tokio::spawn(async move {
            for _ in 0..8 {
                talker.write_all(b"x").await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            talker
        });
        let mut received = 0;
        while received < 8 {
            received += server_side.read(&mut [0u8; 8]).await.unwrap();
        }
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn connections_past_the_limit_wait_for_a_free_slot() {
        let (mut listener, addr) = guarded(2, Duration::from_secs(60)).await;
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        let _c = TcpStream::connect(addr).await.unwrap();
        let (first, _) = listener.accept().await;
        let (_second, _) = listener.accept().await;
        let third = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(
            third.is_err(),
            "a third connection was taken past the limit"
        );
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await;
        assert!(third.is_ok(), "a freed slot was not reused");
    }
}
