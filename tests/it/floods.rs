//! Floods and slow clients: thousands of idle connections, slow headers, TLS handshakes that
//! never finish, oversized headers, connections over the caps. The server keeps answering
//! others within its limits and sheds load with 503 instead of stalling. All on loopback,
//! bounded in count and time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Launch, TestApp, run};

fn launch(flags: &[(&str, &str)]) -> TestApp {
    let args = flags
        .iter()
        .flat_map(|(k, v)| [format!("--{k}"), (*v).to_string()])
        .collect();
    Launch {
        args,
        ..Launch::default()
    }
    .spawn()
}

fn host(url: &str) -> String {
    url.split("://").nth(1).unwrap().to_string()
}

/// Sends one raw HTTP/1.1 request on a fresh connection and reads the answer to its end (the
/// server closes after `Connection: close`); None when the connection ended without an answer.
fn raw_request(addr: &str, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Reads until the server closes the connection; the time that took, or None if it stayed open
/// for `limit`.
fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(started.elapsed());
            }
            Err(_) => return None,
        }
    }
}

/// `count` connections to `addr`, opened from 8 threads.
fn connect_many(addr: &str, count: usize) -> Vec<TcpStream> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let share = count / 8 + usize::from(t < count % 8);
                scope.spawn(move || {
                    (0..share)
                        .map(|_| TcpStream::connect(addr).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    })
}

/// The soft limit on open files of this process (the server inherits it).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

fn curl_healthz(url: &str, extra: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let (code, out, err) = run(Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args(extra)
        .arg(format!("{url}/healthz")));
    assert!(code == 0 || out != "000", "curl: {err}");
    (out, started.elapsed())
}

#[test]
fn thousands_of_idle_connections_leave_room_for_others_then_time_out() {
    const IDLE: usize = 2500;
    const CAP: usize = 2600;
    let limit = open_files_limit();
    assert!(
        limit >= 2 * CAP as u64 + 200,
        "this test holds {CAP} connections on both ends: raise `ulimit -n` (now {limit})"
    );
    let app = launch(&[
        ("max-connections", &CAP.to_string()),
        ("max-connections-per-ip", "100000"),
        // Longer than opening thousands of connections takes on a busy machine (≈ 12 s seen).
        ("header-timeout-secs", "30"),
    ]);
    let addr = host(&app.http);
    let started = Instant::now();
    let mut idle = connect_many(&addr, IDLE);
    let opened = started.elapsed();

    // Another client is served promptly, on HTTP and HTTPS alike.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let answer = raw_request(&addr, &get("/healthz")).unwrap();
        assert_eq!(status_of(&answer), 200, "{answer}");
        let (status, took) = curl_healthz(&app.https, &[]);
        assert_eq!(status, "200");
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_secs(2),
        "slowest answer {slowest:?}"
    );

    // Filling the cap: the next connection is told 503 with Retry-After, at once.
    idle.extend(connect_many(&addr, CAP - IDLE));
    std::thread::sleep(Duration::from_millis(300));
    let filled = started.elapsed();
    let shed_started = Instant::now();
    let answer = raw_request(&addr, &get("/healthz")).unwrap();
    let shed_took = shed_started.elapsed();
    assert_eq!(
        status_of(&answer),
        503,
        "cap filled after {filled:?}: {answer}"
    );
    assert!(answer.contains("retry-after: 5"), "{answer}");
    assert!(shed_took < Duration::from_secs(1), "{shed_took:?}");
    let (status, _) = curl_healthz(&app.https, &[]);
    assert_eq!(status, "503", "over TLS too");

    // The idle connections are closed by the header timeout, and the room comes back.
    let mut closed = 0;
    let waited = Instant::now();
    for stream in &mut idle {
        let left = Duration::from_secs(45).saturating_sub(waited.elapsed());
        if time_to_close(stream, left.max(Duration::from_millis(1))).is_some() {
            closed += 1;
        }
    }
    assert_eq!(closed, CAP, "every idle connection closed");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    let answer = raw_request(&addr, &get("/healthz")).unwrap();
    assert_eq!(status_of(&answer), 200, "{answer}");
    println!(
        "floods: {IDLE} idle connections opened in {opened:?}; slowest other answer {slowest:?}; \
         503 over the cap in {shed_took:?}; all closed {:?} after the cap was reached",
        waited.elapsed() + Duration::from_millis(300)
    );
}

#[test]
fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    let app = launch(&[("header-timeout-secs", "2"), ("idle-timeout-secs", "4")]);
    let addr = host(&app.http);

    // Slowloris: a byte every half second never finishes the head within the timeout.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    slow.write_all(head).unwrap();
    let mut cut_off = None;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(500));
        if slow.write_all(b"a").is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 1];
        slow.set_nonblocking(true).unwrap();
        let read = slow.read(&mut probe);
        slow.set_nonblocking(false).unwrap();
        // Anything but "nothing to read yet" means the server ended the connection.
        if !matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            cut_off = Some(started.elapsed());
            break;
        }
        // Meanwhile others are served.
        let answer = raw_request(&addr, &get("/healthz")).unwrap();
        assert_eq!(status_of(&answer), 200);
    }
    let cut_off = cut_off.expect("the slow client was never cut off");
    assert!(cut_off < Duration::from_secs(4), "{cut_off:?}");

    // A keep-alive connection idle after its answer is closed by the header timeout.
    let mut keep = TcpStream::connect(&addr).unwrap();
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    keep.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1024];
    let n = keep.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let idle_closed = time_to_close(&mut keep, Duration::from_secs(6)).expect("closed");
    assert!(idle_closed < Duration::from_secs(4), "{idle_closed:?}");

    // An HTTP/2 connection (prior knowledge, on the plain listener) is not covered by the
    // header timeout: the idle timeout closes it.
    let mut h2 = TcpStream::connect(&addr).unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    let h2_closed = time_to_close(&mut h2, Duration::from_secs(8)).expect("closed");
    assert!(
        h2_closed > Duration::from_secs(3) && h2_closed < Duration::from_secs(6),
        "{h2_closed:?}"
    );
    println!(
        "floods: slow headers cut off after {cut_off:?}; idle keep-alive closed after \
         {idle_closed:?}; idle HTTP/2 closed after {h2_closed:?}"
    );
}

#[test]
fn tls_handshakes_that_never_finish_are_dropped_without_keeping_their_place() {
    let app = launch(&[("max-connections", "40"), ("handshake-timeout-secs", "2")]);
    let addr = host(&app.https);
    // Half of them send nothing, half a ClientHello that never ends.
    let mut stuck: Vec<TcpStream> = (0..40)
        .map(|i| {
            let mut s = TcpStream::connect(&addr).unwrap();
            if i % 2 == 1 {
                s.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                    .unwrap();
            }
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (status, took) = curl_healthz(&app.https, &[]);
    assert_eq!(status, "503", "the cap is full of stuck handshakes");
    assert!(took < Duration::from_secs(2), "{took:?}");

    let mut slowest = Duration::ZERO;
    for stream in &mut stuck {
        let took = time_to_close(stream, Duration::from_secs(6)).expect("dropped");
        slowest = slowest.max(took);
    }
    assert!(slowest < Duration::from_secs(4), "{slowest:?}");
    drop(stuck);
    std::thread::sleep(Duration::from_millis(200));
    let (status, _) = curl_healthz(&app.https, &[]);
    assert_eq!(status, "200", "their places came back");
    println!("floods: 40 stuck TLS handshakes dropped within {slowest:?}");
}

#[test]
fn oversized_headers_get_431() {
    let app = TestApp::spawn();
    let addr = host(&app.http);
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100_000)
    );
    let answer = raw_request(&addr, huge.as_bytes()).unwrap();
    assert_eq!(status_of(&answer), 431, "{answer}");
    let many = "X-Many: v\r\n".repeat(150);
    let answer = raw_request(
        &addr,
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(status_of(&answer), 431, "{answer}");
    let huge_header = format!("X-Huge: {}", "b".repeat(100_000));
    // HTTP/1.1: over HTTP/2 the h2 crate refuses the stream instead.
    let (status, _) = curl_healthz(&app.https, &["--http1.1", "-H", &huge_header]);
    assert_eq!(status, "431", "over TLS");
    let answer = raw_request(&addr, &get("/healthz")).unwrap();
    assert_eq!(status_of(&answer), 200, "still serving: {answer}");
}

#[test]
fn one_address_may_hold_only_its_share_of_connections() {
    let app = launch(&[("max-connections-per-ip", "5")]);
    let addr = host(&app.http);
    let held: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let answer = raw_request(&addr, &get("/healthz")).unwrap();
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert!(answer.contains("retry-after: 5"), "{answer}");
    // Another address is served.
    let (status, _) = curl_healthz(&app.http, &["--interface", "127.0.0.2"]);
    assert_eq!(status, "200");
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let answer = raw_request(&addr, &get("/healthz")).unwrap();
    assert_eq!(status_of(&answer), 200, "{answer}");
}
