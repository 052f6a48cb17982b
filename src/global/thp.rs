//! Transparent huge pages: whether the kernel offers them, and how much of the reserved range
//! they back. Read from `/sys/kernel/mm/transparent_hugepage/enabled` and `/proc/self/smaps`
//! with plain `open`/`read` into stack buffers: nothing here allocates, so it can be called inside
//! a scope, and nothing here is on the allocation path.
//!
//! The parsing is in safe functions over byte slices, tested below; the file access is the only
//! unsafe code.

/// The kernel's transparent-huge-page mode, as `/sys/kernel/mm/transparent_hugepage/enabled`
/// reports it.
///
/// # Example
///
/// ```
/// use engram_kernels::global::ThpMode;
///
/// let mode = ThpMode::current();
/// // `Always` and `Madvise` both back the global arena's range: it is advised.
/// println!("huge pages for the arena: {}", mode.backs_the_arena());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThpMode {
    /// Every anonymous mapping may get huge pages.
    Always,
    /// Mappings advised `MADV_HUGEPAGE` (as the global arena's range is) may get huge pages.
    Madvise,
    /// Huge pages are switched off: the range uses 4 KiB pages.
    Never,
    /// The kernel has no transparent huge pages, or the setting could not be read.
    Unavailable,
}

impl ThpMode {
    /// Reads the current mode (a small file read; not for hot loops).
    ///
    /// # Example
    ///
    /// ```
    /// let _ = engram_kernels::global::ThpMode::current();
    /// ```
    pub fn current() -> ThpMode {
        let mut buf = [0u8; 128];
        match read_file(c"/sys/kernel/mm/transparent_hugepage/enabled", &mut buf) {
            Some(n) => parse_enabled(&buf[..n]),
            None => ThpMode::Unavailable,
        }
    }

    /// Whether the global arena's range can be backed by huge pages in this mode.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::global::ThpMode;
    ///
    /// assert!(ThpMode::Madvise.backs_the_arena());
    /// assert!(!ThpMode::Never.backs_the_arena());
    /// ```
    pub fn backs_the_arena(self) -> bool {
        matches!(self, ThpMode::Always | ThpMode::Madvise)
    }
}

/// The mode in `enabled`'s contents: the bracketed word, e.g. `always [madvise] never`.
pub fn parse_enabled(text: &[u8]) -> ThpMode {
    let Some(open) = text.iter().position(|&b| b == b'[') else {
        return ThpMode::Unavailable;
    };
    let rest = &text[open + 1..];
    let Some(close) = rest.iter().position(|&b| b == b']') else {
        return ThpMode::Unavailable;
    };
    match &rest[..close] {
        b"always" => ThpMode::Always,
        b"madvise" => ThpMode::Madvise,
        b"never" => ThpMode::Never,
        _ => ThpMode::Unavailable,
    }
}

/// Resident and huge-page-backed bytes of the mappings inside `[start, start + len)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backing {
    pub resident: usize,
    pub huge: usize,
}

/// Sums `Rss` and `AnonHugePages` of the `/proc/self/smaps` entries inside `[start, end)`;
/// `None` where the file cannot be read (not Linux, or no `/proc`).
pub fn backing(start: usize, end: usize) -> Option<Backing> {
    let mut parser = SmapsSum::new(start, end);
    let ok = read_lines(c"/proc/self/smaps", |line| parser.line(line));
    ok.then_some(parser.sum)
}

/// A streaming sum over `smaps` lines: a mapping header (`lo-hi perms ...`) selects whether the
/// following `Rss:` / `AnonHugePages:` lines count.
pub struct SmapsSum {
    start: usize,
    end: usize,
    inside: bool,
    pub sum: Backing,
}

impl SmapsSum {
    pub fn new(start: usize, end: usize) -> Self {
        SmapsSum {
            start,
            end,
            inside: false,
            sum: Backing::default(),
        }
    }

    pub fn line(&mut self, line: &[u8]) {
        if let Some((lo, hi)) = mapping_header(line) {
            self.inside = lo >= self.start && hi <= self.end;
            return;
        }
        if !self.inside {
            return;
        }
        if let Some(kb) = field_kb(line, b"Rss:") {
            self.sum.resident += kb * 1024;
        } else if let Some(kb) = field_kb(line, b"AnonHugePages:") {
            self.sum.huge += kb * 1024;
        }
    }
}

/// `Some((lo, hi))` for a mapping header line `lo-hi perms offset dev inode [path]`.
fn mapping_header(line: &[u8]) -> Option<(usize, usize)> {
    let dash = line.iter().position(|&b| b == b'-')?;
    let space = line.iter().position(|&b| b == b' ')?;
    if dash > space {
        return None;
    }
    Some((hex(&line[..dash])?, hex(&line[dash + 1..space])?))
}

fn hex(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0usize, |acc, &b| {
        let d = (b as char).to_digit(16)? as usize;
        Some(acc << 4 | d)
    })
}

/// The number of `name   123 kB`, if `line` is that field.
fn field_kb(line: &[u8], name: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(name)?;
    let digits = rest.iter().skip_while(|&&b| b == b' ');
    let mut n = 0usize;
    let mut any = false;
    for &b in digits {
        if !b.is_ascii_digit() {
            break;
        }
        any = true;
        n = n.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
    }
    any.then_some(n)
}

/// Reads a whole small file into `buf`; the byte count, or `None`.
fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    let ok = with_fd(path, |fd| {
        while n < buf.len() {
            let r = read_fd(fd, &mut buf[n..]);
            if r <= 0 {
                break;
            }
            n += r as usize;
        }
    });
    ok.then_some(n)
}

/// Calls `f` on every line of the file at `path` (without the newline; a line longer than the
/// 4 KiB buffer is cut into pieces, which the `smaps` parser treats as unknown lines).
fn read_lines(path: &core::ffi::CStr, mut f: impl FnMut(&[u8])) -> bool {
    with_fd(path, |fd| {
        let mut buf = [0u8; 4096];
        let mut filled = 0;
        loop {
            let r = read_fd(fd, &mut buf[filled..]);
            if r <= 0 {
                if filled > 0 {
                    f(&buf[..filled]);
                }
                return;
            }
            filled += r as usize;
            let mut consumed = 0;
            while let Some(nl) = buf[consumed..filled].iter().position(|&b| b == b'\n') {
                f(&buf[consumed..consumed + nl]);
                consumed += nl + 1;
            }
            if consumed == 0 && filled == buf.len() {
                f(&buf[..filled]); // an over-long line: hand it over in pieces
                consumed = filled;
            }
            buf.copy_within(consumed..filled, 0);
            filled -= consumed;
        }
    })
}

/// Opens `path` read-only, runs `f` on the descriptor and closes it; `false` if it cannot be
/// opened.
#[cfg(all(unix, not(miri)))]
fn with_fd(path: &core::ffi::CStr, f: impl FnOnce(i32)) -> bool {
    // SAFETY: `path` is a NUL-terminated string; `open` allocates nothing in our process.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    f(fd);
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    true
}

/// One `read(2)` into `buf`: the byte count, `0` at the end, negative on an error.
#[cfg(all(unix, not(miri)))]
fn read_fd(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: `buf` is writable for `buf.len()` bytes.
    unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) }
}

#[cfg(not(all(unix, not(miri))))]
fn with_fd(_path: &core::ffi::CStr, _f: impl FnOnce(i32)) -> bool {
    false
}

#[cfg(not(all(unix, not(miri))))]
fn read_fd(_fd: i32, _buf: &mut [u8]) -> isize {
    -1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bracketed_word_is_the_mode() {
        assert_eq!(parse_enabled(b"always [madvise] never\n"), ThpMode::Madvise);
        assert_eq!(parse_enabled(b"[always] madvise never\n"), ThpMode::Always);
        assert_eq!(parse_enabled(b"always madvise [never]\n"), ThpMode::Never);
        assert_eq!(parse_enabled(b""), ThpMode::Unavailable);
        assert_eq!(parse_enabled(b"[broken"), ThpMode::Unavailable);
        assert_eq!(parse_enabled(b"[other]"), ThpMode::Unavailable);
    }

    #[test]
    fn smaps_sums_only_mappings_inside_the_range() {
        let text = "\
7f0000000000-7f0000200000 rw-p 00000000 00:00 0
Size:               2048 kB
Rss:                2048 kB
AnonHugePages:      2048 kB
7f0000200000-7f0000600000 ---p 00000000 00:00 0
Rss:                   8 kB
AnonHugePages:         0 kB
7f0000600000-7f0000800000 rw-p 00000000 00:00 0
Rss:                1024 kB
AnonHugePages:         0 kB
";
        let mut all = SmapsSum::new(0x7f00_0000_0000, 0x7f00_0060_0000);
        for line in text.lines() {
            all.line(line.as_bytes());
        }
        assert_eq!(
            all.sum,
            Backing {
                resident: 2056 * 1024,
                huge: 2048 * 1024
            }
        );
        let mut none = SmapsSum::new(0x1000, 0x2000);
        for line in text.lines() {
            none.line(line.as_bytes());
        }
        assert_eq!(none.sum, Backing::default());
    }

    #[test]
    fn malformed_lines_count_nothing() {
        assert_eq!(mapping_header(b"Rss: 4 kB"), None);
        assert_eq!(mapping_header(b"zz-10 rw-p"), None);
        assert_eq!(mapping_header(b"10000000000000000-1 rw-p"), None);
        assert_eq!(field_kb(b"Rss:", b"Rss:"), None);
        assert_eq!(
            field_kb(b"Rss:   99999999999999999999999 kB", b"Rss:"),
            None
        );
        assert_eq!(field_kb(b"Rss:   12 kB", b"Rss:"), Some(12));
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn this_process_has_smaps() {
        assert!(backing(0, usize::MAX).is_some_and(|b| b.resident > 0));
    }
}
