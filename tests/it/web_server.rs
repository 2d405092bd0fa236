//! `vmlab web`: the static-site server, driven over raw HTTP on 127.0.0.1.

use super::support::{temp_path, vmlab};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

/// A running `vmlab web`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vmlab web --port 0 --dir DIR` and reads the port it printed.
fn serve(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(["web", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vmlab web starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Server { child, port }
}

/// Sends one raw request; returns the status line, the headers and the body.
fn get(port: u16, request_target: &str) -> (String, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {request_target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (
        status.to_string(),
        headers.to_string(),
        all[split + 4..].to_vec(),
    )
}

fn site(name: &str) -> std::path::PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(dir.join("pkg/m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("app.js"), "export {};").unwrap();
    dir
}

#[test]
fn serves_index_wasm_and_modules_with_their_types() {
    let dir = site("web-site-types");
    let server = serve(&dir);
    let (status, headers, body) = get(server.port, "/?view=scenario&name=e7");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains("Content-Type: text/html"), "{headers}");
    assert_eq!(body, b"<!doctype html><title>t</title>");
    let (status, headers, body) = get(server.port, "/pkg/m.wasm");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("Content-Type: application/wasm"),
        "{headers}"
    );
    assert_eq!(body, b"\0asm\x01\0\0\0");
    let (_, headers, _) = get(server.port, "/app.js");
    assert!(
        headers.contains("Content-Type: text/javascript"),
        "{headers}"
    );
}

#[test]
fn missing_files_are_404_and_dot_dot_is_refused() {
    let dir = site("web-site-refuse");
    std::fs::write(dir.with_file_name("web-secret.txt"), "secret").unwrap();
    let server = serve(&dir);
    assert_eq!(get(server.port, "/nope.js").0, "HTTP/1.1 404 Not Found");
    for target in ["/../web-secret.txt", "/pkg/%2e%2e/%2e%2e/web-secret.txt"] {
        let (status, _, body) = get(server.port, target);
        assert_eq!(status, "HTTP/1.1 403 Forbidden", "{target}");
        assert!(!String::from_utf8_lossy(&body).contains("secret"));
    }
}

#[test]
fn a_folder_without_index_html_says_to_build_the_site() {
    let dir = temp_path("web-empty");
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_string_lossy().into_owned();
    vmlab(&["web", "--port", "0", "--dir", &dir_text]).bad_input(&[
        "--dir",
        "no index.html",
        "web/build.sh",
    ]);
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = site("web-site-port");
    let dir_text = dir.to_string_lossy().into_owned();
    vmlab(&["web", "--port", &port, "--dir", &dir_text]).bad_input(&[
        "--port",
        &port,
        "cannot listen on 127.0.0.1",
    ]);
}
