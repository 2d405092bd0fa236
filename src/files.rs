//! Reading input files, each kind with a cap on its size.
//!
//! A program, a scenario or a cost model is read whole, so each is read
//! through [`read`] (or [`read_text`]) with the cap of its [`FileKind`]: a
//! file larger than that (or an endless device such as `/dev/zero`) is
//! refused with a one-line error naming the file and the cap, after reading
//! at most one byte more than the cap. Traces are not read whole: they stream
//! (`trace::input`), so they have no cap.

use std::io::Read;
use std::path::Path;

/// The kinds of file read whole, each with its cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A program: RISC-V assembly or an ELF executable
    /// (`vmlab asm`, `vmlab run`, a scenario's `file =`).
    Program,
    /// A scenario (TOML).
    Scenario,
    /// A cost model (TOML, `vmlab trace --cost`).
    Cost,
}

/// The largest program read: 16 MiB (assembly or ELF).
pub const MAX_PROGRAM_BYTES: u64 = 16 << 20;

/// The largest scenario read: 1 MiB of TOML.
pub const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// The largest cost model read: 64 KiB of TOML.
pub const MAX_COST_BYTES: u64 = 64 << 10;

impl FileKind {
    /// The most bytes a file of this kind may hold.
    pub fn cap(self) -> u64 {
        match self {
            FileKind::Program => MAX_PROGRAM_BYTES,
            FileKind::Scenario => MAX_SCENARIO_BYTES,
            FileKind::Cost => MAX_COST_BYTES,
        }
    }

    /// What the file is, for messages: `program`, `scenario`, `cost model`.
    pub fn what(self) -> &'static str {
        match self {
            FileKind::Program => "program",
            FileKind::Scenario => "scenario",
            FileKind::Cost => "cost model",
        }
    }
}

/// A size for messages: `16 MiB`, `64 KiB`, `100 bytes`.
fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads all of `path`, a file of `kind`, reading at most `kind.cap() + 1`
/// bytes whatever the file is (a device, a pipe, a growing file).
///
/// Errors (one line, naming the file): it cannot be opened or read (the
/// system's reason), or it holds more than the cap
/// (`big.s: a program file may hold at most 16 MiB; this one is larger`).
pub fn read(path: &Path, kind: FileKind) -> Result<Vec<u8>, String> {
    read_capped(path, kind, kind.cap())
}

/// Like [`read`], with an explicit cap (for tests and callers with their
/// own limit).
pub fn read_capped(path: &Path, kind: FileKind, cap: u64) -> Result<Vec<u8>, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "{name}: a {} file may hold at most {}; this one is larger",
            kind.what(),
            human(cap)
        ));
    }
    Ok(bytes)
}

/// Like [`read`], for a text file: also an error when the bytes are not
/// UTF-8 (`notes.toml: not UTF-8 text (a scenario file is TOML)`).
pub fn read_text(path: &Path, kind: FileKind) -> Result<String, String> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{}: not UTF-8 text at byte {} (a {} file is text)",
            path.display(),
            e.utf8_error().valid_up_to(),
            kind.what()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("vmlab-files-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn a_file_at_the_cap_is_read_one_byte_more_is_refused() {
        let p = temp("cap.s", &[b'x'; 100]);
        assert_eq!(read_capped(&p, FileKind::Program, 100).unwrap().len(), 100);
        let e = read_capped(&p, FileKind::Program, 99).unwrap_err();
        assert!(e.contains("cap.s") && e.contains("at most 99 bytes"), "{e}");
        std::fs::remove_file(p).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_refused_after_the_cap() {
        let e = read(Path::new("/dev/zero"), FileKind::Cost).unwrap_err();
        assert_eq!(
            e,
            "/dev/zero: a cost model file may hold at most 64 KiB; this one is larger"
        );
    }

    #[test]
    fn text_must_be_utf8_and_missing_files_are_named() {
        let p = temp("bad.toml", b"a = 1\n\xff");
        let e = read_text(&p, FileKind::Scenario).unwrap_err();
        assert!(e.contains("bad.toml") && e.contains("byte 6"), "{e}");
        std::fs::remove_file(p).unwrap();
        let e = read(Path::new("/nonexistent/x.s"), FileKind::Program).unwrap_err();
        assert!(e.starts_with("/nonexistent/x.s: "), "{e}");
    }
}
