//! `vmlab web`: serves the static site (`web/dist`, built by `web/build.sh`)
//! on 127.0.0.1, so the browser page can be opened locally.
//!
//! A deliberately small HTTP/1.1 file server on `std::net`: `GET` and
//! `HEAD` only, one response per connection, the right MIME types for the
//! site's files (`application/wasm` matters: browsers refuse to stream-compile
//! a module served otherwise), `index.html` for a folder, 404 for a missing
//! file, and any path with a `..` segment refused. It never listens beyond the
//! loopback address. Only in a `native` build.

use super::{CliError, CmdResult};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Flags of `vmlab web`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  web/build.sh && vmlab web           then open http://127.0.0.1:8000/
  vmlab web --port 0                  any free port (printed on the first line)")]
pub struct Args {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The folder to serve: the site built by web/build.sh.
    #[arg(long, default_value = "web/dist")]
    pub dir: PathBuf,
}

/// The longest request head (request line and headers) read, in bytes.
const MAX_HEAD_BYTES: u64 = 16 * 1024;

/// Runs `vmlab web`: checks the folder holds a site, binds the port, prints
/// `serving DIR at http://127.0.0.1:PORT/` (flushed, so a script can read the
/// port chosen for `--port 0`), then serves until killed.
///
/// Fails with exit 2 when the folder has no `index.html` or the port cannot
/// be bound (taken, or privileged).
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let index = args.dir.join("index.html");
    if !index.is_file() {
        return Err(CliError::input(format!(
            "--dir {}: no index.html there (build the site first: web/build.sh)",
            args.dir.display()
        )));
    }
    let root = args
        .dir
        .canonicalize()
        .map_err(|e| CliError::input(format!("--dir {}: {e}", args.dir.display())))?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, args.port)).map_err(|e| {
        CliError::input(format!(
            "--port {}: cannot listen on 127.0.0.1:{}: {e}{}",
            args.port,
            args.port,
            if e.kind() == io::ErrorKind::AddrInUse {
                " (pick another --port, or 0 for any free one)"
            } else {
                ""
            }
        ))
    })?;
    let port = listener.local_addr()?.port();
    writeln!(
        out,
        "serving {} at http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        args.dir.display()
    )?;
    out.flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.clone();
        // One thread per connection: a slow or stuck client cannot hold up
        // the others (a browser opens several at once).
        std::thread::spawn(move || {
            let _ = serve(stream, &root);
        });
    }
    Ok(0)
}

/// Answers one request on `stream` from the files under `root`.
fn serve(mut stream: TcpStream, root: &Path) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new((&stream).take(MAX_HEAD_BYTES));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read (and ignore) the headers, up to the blank line.
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header.trim_end().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            405,
            "text/plain",
            b"only GET and HEAD\n",
            false,
        );
    }
    match resolve(root, target) {
        Err(Refusal::Traversal) => respond(
            &mut stream,
            403,
            "text/plain",
            b"403: '..' is not allowed in a path\n",
            head_only,
        ),
        Err(Refusal::Malformed) => respond(
            &mut stream,
            400,
            "text/plain",
            b"400: malformed path\n",
            head_only,
        ),
        Ok(path) => match fs::read(&path) {
            Ok(body) => respond(&mut stream, 200, mime_type(&path), &body, head_only),
            Err(_) => respond(
                &mut stream,
                404,
                "text/plain",
                b"404: no such file\n",
                head_only,
            ),
        },
    }
}

/// Why a request path is not served.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// A `..` segment: it would climb out of the folder.
    Traversal,
    /// Not a path (`*`, a full URL, bad percent-encoding, a NUL).
    Malformed,
}

/// The file a request target names under `root`: the query and fragment
/// dropped, percent-escapes decoded, `index.html` for a folder. Refuses a
/// path with a `..` segment (before or after decoding) or anything that is
/// not a plain absolute path.
fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(Refusal::Malformed);
    }
    let decoded = percent_decode(path).ok_or(Refusal::Malformed)?;
    if decoded.contains('\0') {
        return Err(Refusal::Malformed);
    }
    let mut file = root.to_path_buf();
    for segment in decoded.split(['/', '\\']) {
        match Path::new(segment).components().next() {
            None | Some(Component::CurDir) => {}
            Some(Component::Normal(name)) => file.push(name),
            Some(Component::ParentDir) => return Err(Refusal::Traversal),
            Some(_) => return Err(Refusal::Malformed),
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    Ok(file)
}

/// Decodes `%xx` escapes; `None` for a bad escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `Content-Type` of a file, by its extension.
fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("toml" | "txt" | "md") => "text/plain; charset=utf-8",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Writes a whole response and closes (one request per connection).
fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_folders_serve_their_index() {
        let root = std::env::temp_dir().join(format!("vmlab-web-unit-{}", std::process::id()));
        fs::create_dir_all(root.join("pkg")).unwrap();
        assert_eq!(
            resolve(&root, "/?view=scenario&name=e7"),
            Ok(root.join("index.html"))
        );
        assert_eq!(resolve(&root, "/pkg/"), Ok(root.join("pkg/index.html")));
        assert_eq!(
            resolve(&root, "/pkg/a%20b.js#x"),
            Ok(root.join("pkg/a b.js"))
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn dot_dot_is_refused_even_when_escaped() {
        let root = Path::new("/srv/site");
        assert_eq!(resolve(root, "/../etc/passwd"), Err(Refusal::Traversal));
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/x"), Err(Refusal::Traversal));
        assert_eq!(resolve(root, "/a\\..\\b"), Err(Refusal::Traversal));
        assert_eq!(resolve(root, "/%zz"), Err(Refusal::Malformed));
        assert_eq!(resolve(root, "http://x/"), Err(Refusal::Malformed));
        assert_eq!(resolve(root, "/a%00b"), Err(Refusal::Malformed));
    }

    #[test]
    fn wasm_and_modules_get_the_types_browsers_require() {
        assert_eq!(
            mime_type(Path::new("a/vmlab_web_bg.wasm")),
            "application/wasm"
        );
        assert!(mime_type(Path::new("app.js")).starts_with("text/javascript"));
        assert!(mime_type(Path::new("index.html")).starts_with("text/html"));
    }
}
