//! Oversized webhook bodies over a real TCP socket: a sender that writes its whole body before
//! reading the answer must always see the 413, never a connection reset.

mod common;

use std::net::SocketAddr;

use integration_api::{RouterOptions, SqliteStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::{app_with, registry_with};

const LIMIT: usize = 64 * 1024;
const TRIES: usize = 100;

/// Serves the real router with `axum::serve` on a loopback port.
async fn serve() -> SocketAddr {
    let app = app_with(
        SqliteStore::in_memory().unwrap(),
        registry_with(Vec::new()),
        RouterOptions {
            body_limit: LIMIT,
            verifier: None,
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
    addr
}

/// Writes the request head and then the whole body, as a plain sender does, and only then
/// reads the answer. Returns the status line, or what went wrong.
async fn post(addr: SocketAddr, path: &str, body: &[u8], chunked: bool) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-Test-Signature: 00\r\nConnection: close\r\n{framing}\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("writing the head: {e}"))?;
    if chunked {
        for chunk in body.chunks(16 * 1024) {
            let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
            frame.extend_from_slice(chunk);
            frame.extend_from_slice(b"\r\n");
            stream
                .write_all(&frame)
                .await
                .map_err(|e| format!("writing the body: {e}"))?;
        }
        stream
            .write_all(b"0\r\n\r\n")
            .await
            .map_err(|e| format!("writing the body: {e}"))?;
    } else {
        stream
            .write_all(body)
            .await
            .map_err(|e| format!("writing the body: {e}"))?;
    }
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .lines()
        .next()
        .map(str::to_string)
        .ok_or_else(|| "no answer before the connection closed".to_string())
}

/// Posts `TRIES` oversized bodies and returns every try that did not see `expected`.
async fn failures(path: &str, chunked: bool, expected: &str) -> Vec<(usize, String)> {
    let addr = serve().await;
    // Thirty-two times the limit: far more than the server reads before it can answer.
    let body = vec![b'x'; LIMIT * 32];
    let mut failed = Vec::new();
    for i in 0..TRIES {
        match post(addr, path, &body, chunked).await {
            Ok(status) if status.starts_with(expected) => {}
            Ok(status) => failed.push((i, status)),
            Err(e) => failed.push((i, e)),
        }
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_with_content_length_always_gets_the_413() {
    let failed = failures("/webhooks/test", false, "HTTP/1.1 413").await;
    assert!(
        failed.is_empty(),
        "{} of {TRIES} failed: {failed:?}",
        failed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_chunked_body_always_gets_the_413() {
    let failed = failures("/webhooks/test", true, "HTTP/1.1 413").await;
    assert!(
        failed.is_empty(),
        "{} of {TRIES} failed: {failed:?}",
        failed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_for_an_unknown_provider_always_gets_the_404() {
    let failed = failures("/webhooks/nope", false, "HTTP/1.1 404").await;
    assert!(
        failed.is_empty(),
        "{} of {TRIES} failed: {failed:?}",
        failed.len()
    );
}
