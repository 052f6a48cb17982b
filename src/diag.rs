//! The one way the crate (and the C library built on it) prints on stderr: one line per message,
//! each starting with [`STDERR_PREFIX`].
//!
//! Two entry points, because one caller cannot use the usual one: [`report`] formats through
//! std's `eprintln!` (captured by the test harness like any other output); [`report_str`] writes
//! a fixed message with a single `write(2)` and no allocation, lock or thread-local, which is what
//! the global allocator needs when it reports from inside an allocation.

use std::fmt;

/// The prefix of every line the crate prints on stderr, for filtering logs.
///
/// # Example
///
/// ```
/// let line = "engram-kernels: ENGRAM_ARENA_ZERO=\"maybe\" is invalid (...); keeping false";
/// assert!(line.starts_with(engram_kernels::diag::STDERR_PREFIX));
/// ```
pub const STDERR_PREFIX: &str = "engram-kernels: ";

/// Prints `message` on stderr as one line after [`STDERR_PREFIX`].
///
/// # Example
///
/// ```
/// engram_kernels::diag::report(format_args!("{} chunks left", 3));
/// // stderr: engram-kernels: 3 chunks left
/// ```
pub fn report(message: impl fmt::Display) {
    eprintln!("{STDERR_PREFIX}{message}");
}

/// The longest line [`report_str`] writes with one `write(2)`; a longer one goes out in pieces.
const LINE_MAX: usize = 512;

/// Prints `message` on stderr as one line after [`STDERR_PREFIX`], without allocating: the line
/// is assembled on the stack and written with one `write(2)` (several for a message longer than
/// about 500 bytes). Errors (a closed stderr) are ignored. For callers that must not re-enter the
/// allocator, such as a global allocator; elsewhere [`report`] does the same.
///
/// # Example
///
/// ```
/// engram_kernels::diag::report_str("the address range was refused");
/// // stderr: engram-kernels: the address range was refused
/// ```
pub fn report_str(message: &str) {
    assemble(message, write_stderr);
}

/// Hands `write` the line for `message` (prefix, message, newline) in as few pieces of at most
/// [`LINE_MAX`] bytes as it takes: one, for any message that fits.
fn assemble(message: &str, mut write: impl FnMut(&[u8])) {
    let mut line = [0u8; LINE_MAX];
    let mut len = 0;
    for part in [STDERR_PREFIX.as_bytes(), message.as_bytes(), b"\n"] {
        for chunk in part.chunks(LINE_MAX) {
            if len + chunk.len() > LINE_MAX {
                write(&line[..len]);
                len = 0;
            }
            line[len..len + chunk.len()].copy_from_slice(chunk);
            len += chunk.len();
        }
    }
    write(&line[..len]);
}

/// Writes all of `bytes` to file descriptor 2, retrying short writes and interruptions; gives up
/// on any other error.
#[cfg(unix)]
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live, initialised buffer of `bytes.len()` bytes; write(2) only reads
        // it, and fd 2 needs no ownership (a closed one makes the call fail, which ends the loop).
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(_) if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
            }
            Err(_) => return,
        }
    }
}

/// Without `write(2)` (Windows): std's stderr, unbuffered; its lock does not allocate.
#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(message: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        assemble(message, |b| out.push(b.to_vec()));
        out
    }

    #[test]
    fn a_short_message_is_one_write_of_the_whole_line() {
        assert_eq!(
            pieces("range refused"),
            [b"engram-kernels: range refused\n".to_vec()]
        );
        assert_eq!(pieces(""), [b"engram-kernels: \n".to_vec()]);
    }

    #[test]
    fn a_long_message_goes_out_whole_in_bounded_pieces() {
        let message = "x".repeat(3 * LINE_MAX + 7);
        let got = pieces(&message);
        assert!(got.len() > 1 && got.iter().all(|p| p.len() <= LINE_MAX));
        assert_eq!(
            got.concat(),
            format!("{STDERR_PREFIX}{message}\n").into_bytes()
        );
    }
}
