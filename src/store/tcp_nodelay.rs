//! TCP_NODELAY on the Postgres pool's connections. sqlx 0.9.0 leaves Nagle's algorithm on
//! (sqlx issue #4335; fixed upstream by #4336, not in a release yet). A statement larger than
//! the socket's free send buffer then leaves in two writes; the second waits for the server to
//! acknowledge the first, which it delays, and the statement takes 40 ms longer. Multi-row
//! statements (a batch of joins writes 64 rows at once) paid it every time. libpq disables
//! Nagle on every connection; so do we, right after sqlx opened one, by finding this
//! process's TCP sockets connected to the database's port. Drop this once sqlx does it.
use std::{net::SocketAddr, os::fd::BorrowedFd};

/// Switch off Nagle's algorithm on every TCP socket of this process whose peer listens on
/// `port` (the pool's connections, and any other client of a database there, where it does
/// no harm either). Returns how many sockets were switched.
pub fn database_sockets(port: u16) -> usize {
    let Ok(entries) = std::fs::read_dir(fd_dir()) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&fd| switch_off_nagle(fd, port))
        .count()
}

fn fd_dir() -> &'static str {
    if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    }
}

fn switch_off_nagle(fd: i32, port: u16) -> bool {
    // SAFETY: the descriptor is only borrowed for these two calls. If it was closed since the
    // directory was read, they fail with EBADF; if its number was reused meanwhile, the calls
    // apply to whatever socket has it now, which changes nothing but its TCP_NODELAY option.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = socket2::SockRef::from(&fd);
    // Only internet sockets have a socket address (a Unix socket has none).
    let peer: Option<SocketAddr> = socket.peer_addr().ok().and_then(|a| a.as_socket());
    peer.is_some_and(|p| p.port() == port) && socket.set_tcp_nodelay(true).is_ok()
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn only_sockets_to_the_port_are_switched() {
        let database = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let to_database = TcpStream::connect(database.local_addr().unwrap()).unwrap();
        let to_other = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!to_database.nodelay().unwrap(), "Nagle is on by default");
        assert!(database_sockets(database.local_addr().unwrap().port()) >= 1);
        assert!(to_database.nodelay().unwrap());
        assert!(!to_other.nodelay().unwrap());
    }
}
