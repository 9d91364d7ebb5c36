//! Opening the listeners: `--web.listen-address` values bound as Go binds
//! them, or the sockets systemd hands over with `--web.systemd-socket`.
//!
//! Go listens on a wildcard (`:9091`, `0.0.0.0:9091`, `[::]:9091`) with one
//! IPv6 socket whose `IPV6_V6ONLY` is off, so IPv4 clients reach it as
//! IPv4-mapped addresses and IPv6 clients directly: a pod on a dual-stack
//! or IPv6-only cluster is scraped as it was with the official server. pgw
//! does the same, and only where the machine has no IPv6 at all does a
//! wildcard fall back to IPv4. A specific address (`127.0.0.1:9091`,
//! `[::1]:9091`) is one family only, as in Go.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// As many pending connections as tokio's own `bind` allows.
const BACKLOG: i32 = 1024;

/// Binds one `--web.listen-address` value.
pub(crate) async fn listen(addr: &str) -> anyhow::Result<TcpListener> {
    let target = resolve(addr).await?;
    let listener = match target {
        Target::Wildcard(port) => wildcard(port),
        Target::Specific(sock) => bind(sock, true),
    }
    .with_context(|| format!("cannot listen on {addr}"))?;
    TcpListener::from_std(listener).with_context(|| format!("cannot listen on {addr}"))
}

enum Target {
    Wildcard(u16),
    Specific(SocketAddr),
}

/// `:9091` and the two unspecified addresses are wildcards; anything else
/// is resolved, and the first address it resolves to is bound, as Go does.
async fn resolve(addr: &str) -> anyhow::Result<Target> {
    if addr.starts_with("vsock://") {
        anyhow::bail!(
            "cannot listen on {addr}: vsock listen addresses are not supported, only TCP ones \
             (HOST:PORT, :PORT, [::]:PORT)"
        );
    }
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    if let Ok(sock) = full.parse::<SocketAddr>() {
        return Ok(if sock.ip().is_unspecified() {
            Target::Wildcard(sock.port())
        } else {
            Target::Specific(sock)
        });
    }
    let mut addrs = tokio::net::lookup_host(&full)
        .await
        .with_context(|| format!("cannot resolve listen address {addr:?}"))?;
    addrs
        .next()
        .map(Target::Specific)
        .with_context(|| format!("listen address {addr:?} resolves to nothing"))
}

/// One dual-stack socket on `[::]:port`; IPv4 alone when this machine has
/// no IPv6 (no such address family, or IPv6 switched off so that `::`
/// cannot be bound).
fn wildcard(port: u16) -> io::Result<std::net::TcpListener> {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match bind(v6, false) {
        Err(e) if no_ipv6(&e) => {
            crate::warn!(
                "this machine has no IPv6: listening on IPv4 only",
                port = port,
                err = e
            );
            bind(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                true,
            )
        }
        other => other,
    }
}

#[cfg(unix)]
fn no_ipv6(e: &io::Error) -> bool {
    use rustix::io::Errno;
    let code = e.raw_os_error();
    code == Some(Errno::AFNOSUPPORT.raw_os_error())
        || code == Some(Errno::ADDRNOTAVAIL.raw_os_error())
}

/// WSAEAFNOSUPPORT and WSAEADDRNOTAVAIL.
#[cfg(windows)]
fn no_ipv6(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(10047 | 10049))
}

/// A listening, non-blocking socket on `addr`; `only_v6` decides whether an
/// IPv6 socket also takes IPv4 (false for the wildcard only).
fn bind(addr: SocketAddr, only_v6: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(only_v6)?;
    }
    // As Go and tokio do: a restarted server binds its port again at once,
    // while the old connections are still in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The sockets systemd passed (`LISTEN_FDS`, `LISTEN_PID`), as
/// `--web.systemd-socket` asks: each must be a listening TCP socket. The
/// three variables are removed, so that a child process does not take the
/// sockets for its own, and each socket is closed on exec.
///
/// Call it before any other thread reads the environment.
#[cfg(target_os = "linux")]
pub(crate) fn systemd_sockets() -> anyhow::Result<Vec<std::net::TcpListener>> {
    const NONE: &str = "--web.systemd-socket: no socket activation file descriptors found \
                        (LISTEN_FDS and LISTEN_PID are not set for this process)";
    let pid = std::env::var("LISTEN_PID").ok();
    let ours = pid
        .as_deref()
        .and_then(|p| p.trim().parse::<i32>().ok())
        .is_some_and(|p| p == rustix::process::getpid().as_raw_nonzero().get());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    std::env::remove_var("LISTEN_FDNAMES");
    if !ours {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        anyhow::bail!(NONE);
    }
    // Takes LISTEN_PID and LISTEN_FDS out of the environment.
    let mut fds = listenfd::ListenFd::from_env();
    if count == 0 || fds.len() == 0 {
        anyhow::bail!(NONE);
    }
    let mut listeners = Vec::with_capacity(fds.len());
    for i in 0..fds.len() {
        let fd = 3 + i;
        let listener = fds
            .take_tcp_listener(i)
            .with_context(|| format!("--web.systemd-socket: file descriptor {fd}"))?
            .with_context(|| format!("--web.systemd-socket: file descriptor {fd} was taken"))?;
        let listening = socket2::SockRef::from(&listener)
            .is_listener()
            .with_context(|| format!("--web.systemd-socket: file descriptor {fd}"))?;
        if !listening {
            anyhow::bail!(
                "--web.systemd-socket: file descriptor {fd} is a TCP socket that is not listening"
            );
        }
        listener
            .set_nonblocking(true)
            .with_context(|| format!("--web.systemd-socket: file descriptor {fd}"))?;
        listeners.push(listener);
    }
    Ok(listeners)
}
