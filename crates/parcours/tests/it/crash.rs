//! Nothing lost: the real binary is killed with SIGKILL during a sustained ingest,
//! restarted on the same data directory, and every event that got a 200 must be there
//! exactly once. Traffic goes to 127.0.0.1 only, is bounded in count and time, and the
//! test ends the processes it started, by their handle.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_parcours");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, port: u16) -> Server {
    let child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("PARCOURS_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = agent()
            .get(&format!("http://127.0.0.1:{port}/healthz"))
            .call()
        {
            if r.status() == 200 {
                return server;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not become healthy");
}

fn key(dir: &std::path::Path, scope: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--data-dir",
            dir.to_str().unwrap(),
            "--workspace",
            "crash",
            "--scope",
            scope,
        ])
        .env("PARCOURS_LOG_LEVEL", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        key.starts_with("pc") && !key.contains('\n'),
        "keys create must print the key alone: {key:?}"
    );
    key
}

#[test]
fn sigkill_during_ingest_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let write = key(dir.path(), "write");
    let read = key(dir.path(), "read");
    let port = free_port();
    let mut server = start(dir.path(), port);
    // (client, message ids) of every batch that got a 200.
    type Acked = Vec<(usize, Vec<String>)>;
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (acked, stop, write) = (acked.clone(), stop.clone(), write.clone());
            std::thread::spawn(move || {
                let agent = agent();
                // Bounded: at most 2,000 requests per client, and it stops at the kill.
                for b in 0..2000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let ids: Vec<String> = (0..50).map(|i| format!("c{c}-b{b}-e{i}")).collect();
                    let batch: Vec<Value> = ids.iter().map(|id| json!({"type": "track", "event": "Load", "userId": format!("client-{c}"), "messageId": id})).collect();
                    let response = agent
                        .post(&format!("http://127.0.0.1:{port}/v1/batch"))
                        .header("Authorization", crate::basic(&write))
                        .send(serde_json::to_vec(&json!({ "batch": batch })).unwrap());
                    match response {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push((c, ids)),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the ingest run, then kill the server mid-stream.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    server.0.kill().unwrap(); // SIGKILL on Unix.
    server.0.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "the ingest did not get going: {} batches",
        acked.len()
    );
    eprintln!(
        "killed after {} acknowledged batches ({} events)",
        acked.len(),
        acked.len() * 50
    );

    let server = start(dir.path(), port);
    let agent = agent();
    for c in 0..4 {
        let expected: Vec<&String> = acked
            .iter()
            .filter(|(cc, _)| *cc == c)
            .flat_map(|(_, ids)| ids)
            .collect();
        if expected.is_empty() {
            continue;
        }
        let mut r = agent
            .get(&format!(
                "http://127.0.0.1:{port}/api/v1/persons/client-{c}/timeline?limit=1000000"
            ))
            .header("Authorization", &format!("Bearer {read}"))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        let stored: Vec<&str> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message_id"].as_str().unwrap())
            .collect();
        let unique: std::collections::HashSet<&str> = stored.iter().copied().collect();
        assert_eq!(
            unique.len(),
            stored.len(),
            "client {c}: an event is stored twice"
        );
        eprintln!(
            "client {c}: {} acknowledged, {} stored (a batch may commit before its answer is lost)",
            expected.len(),
            stored.len()
        );
        for id in &expected {
            assert!(
                unique.contains(id.as_str()),
                "client {c}: acknowledged event {id} was lost"
            );
        }
    }
    drop(server);
}
