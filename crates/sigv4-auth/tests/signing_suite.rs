//! The official SigV4 test vectors (shipped in the aws-sigv4 crate package) through the
//! verifier: each signed request is accepted, and the same request with its path, query, a
//! signed header or the signing time altered is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sigv4_auth::{SigV4Verifier, VerifyError};

/// The GET cases API Gateway-style verification must handle: plain, query ordering and
/// encoding, duplicate/ordered/trimmed header values, unreserved and UTF-8 paths, normalized
/// paths, and a session token.
const CASES: &[&str] = &[
    "get-vanilla",
    "get-vanilla-query",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-unreserved",
    "get-vanilla-empty-query-key",
    "get-vanilla-utf8-query",
    "get-header-key-duplicate",
    "get-header-value-order",
    "get-header-value-trim",
    "get-unreserved",
    "get-utf8",
    "get-slash-normalized",
    "get-slash-dot-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slashes-normalized",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-vanilla-with-session-token",
];

fn suite_dir() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("set CARGO_HOME or HOME so the aws-sigv4 package can be found");
    let registry = cargo_home.join("registry/src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", registry.display()))
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|entry| entry.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("aws-sigv4-1.6."))
        })
        .map(|p| p.join("aws-signing-test-suite/v4"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no aws-sigv4-1.6.* package with aws-signing-test-suite under {}: run `cargo fetch`",
            registry.display()
        )
    })
}

struct Case {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    verifier: SigV4Verifier,
    now: SystemTime,
}

fn json_str<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{key}\""))?;
    let rest = &json[start + key.len() + 2..];
    let rest = &rest[rest.find('"')? + 1..];
    Some(&rest[..rest.find('"')?])
}

fn load(name: &str) -> Case {
    let dir = suite_dir().join(name);
    let context = std::fs::read_to_string(dir.join("context.json")).unwrap();
    let signed = std::fs::read_to_string(dir.join("header-signed-request.txt")).unwrap();
    let mut lines = signed.lines();
    let request_line = lines.next().unwrap();
    let mut words = request_line.split(' ');
    let method: Method = words.next().unwrap().parse().unwrap();
    let target = words.next().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    let uri: Uri = target
        .parse()
        .unwrap_or_else(|e| panic!("{name}: request target {target:?}: {e}"));
    let verifier = SigV4Verifier::new(
        json_str(&context, "region").unwrap(),
        json_str(&context, "service").unwrap(),
    )
    .with_key(
        json_str(&context, "access_key_id").unwrap(),
        json_str(&context, "secret_access_key").unwrap(),
        json_str(&context, "token").map(str::to_string),
    );
    let timestamp: chrono::DateTime<chrono::Utc> =
        json_str(&context, "timestamp").unwrap().parse().unwrap();
    Case {
        method,
        uri,
        headers,
        verifier,
        now: timestamp.into(),
    }
}

impl Case {
    fn verify(&self) -> Result<sigv4_auth::Verified, VerifyError> {
        self.verifier
            .verify(&self.method, &self.uri, &self.headers, b"", self.now)
    }
}

fn assert_mismatch(name: &str, what: &str, result: Result<sigv4_auth::Verified, VerifyError>) {
    match result {
        Err(VerifyError::SignatureMismatch { access_key_id }) => {
            assert_eq!(access_key_id, "AKIDEXAMPLE")
        }
        other => panic!("{name}: tampered {what} was not refused as a mismatch: {other:?}"),
    }
}

#[test]
fn every_vector_is_accepted() {
    for name in CASES {
        let case = load(name);
        let verified = case
            .verify()
            .unwrap_or_else(|e| panic!("{name}: correct request refused: {e}"));
        assert_eq!(verified.access_key_id, "AKIDEXAMPLE", "{name}");
    }
}

#[test]
fn every_vector_refuses_a_tampered_path() {
    for name in CASES {
        let mut case = load(name);
        let tampered = format!("/tampered{}", case.uri.path_and_query().unwrap());
        case.uri = tampered.parse().unwrap();
        assert_mismatch(name, "path", case.verify());
    }
}

#[test]
fn every_vector_refuses_a_tampered_query() {
    for name in CASES {
        let mut case = load(name);
        let pq = case.uri.path_and_query().unwrap();
        let tampered = match pq.query() {
            Some(q) => format!("{}?{q}&extra=1", pq.path()),
            None => format!("{}?extra=1", pq.path()),
        };
        case.uri = tampered.parse().unwrap();
        assert_mismatch(name, "query", case.verify());
    }
}

#[test]
fn every_vector_refuses_a_tampered_signed_header_or_body() {
    for name in CASES {
        let mut case = load(name);
        case.headers
            .insert("host", HeaderValue::from_static("evil.example.com"));
        assert_mismatch(name, "host header", case.verify());

        let case = load(name);
        let result = case
            .verifier
            .verify(&case.method, &case.uri, &case.headers, b"x", case.now);
        assert_mismatch(name, "body", result);
    }
    let mut case = load("get-header-key-duplicate");
    case.headers
        .append("my-header1", HeaderValue::from_static("value3"));
    assert_mismatch(
        "get-header-key-duplicate",
        "added header value",
        case.verify(),
    );
}

#[test]
fn every_vector_refuses_a_tampered_signature_time_or_scope() {
    for name in CASES {
        let mut case = load(name);
        case.headers
            .insert("x-amz-date", HeaderValue::from_static("20150830T123601Z"));
        assert_mismatch(name, "x-amz-date", case.verify());

        let mut case = load(name);
        let auth = case.headers["authorization"].to_str().unwrap().to_string();
        let last = auth.chars().last().unwrap();
        let flipped = if last == '0' { '1' } else { '0' };
        let auth = format!("{}{flipped}", &auth[..auth.len() - 1]);
        case.headers
            .insert("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_mismatch(name, "signature", case.verify());
    }
}

#[test]
fn wrong_key_region_service_skew_and_token_are_refused() {
    let case = load("get-vanilla");
    let now = case.now;
    let verify =
        |v: &SigV4Verifier, now| v.verify(&case.method, &case.uri, &case.headers, b"", now);

    let other_secret =
        SigV4Verifier::new("us-east-1", "service").with_key("AKIDEXAMPLE", "another-secret", None);
    assert!(matches!(
        verify(&other_secret, now),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    let unknown = SigV4Verifier::new("us-east-1", "service").with_key("OTHER", "x", None);
    assert_eq!(
        verify(&unknown, now),
        Err(VerifyError::UnknownAccessKey {
            access_key_id: "AKIDEXAMPLE".into()
        })
    );
    let region = SigV4Verifier::new("eu-west-1", "service");
    assert!(matches!(
        verify(&region, now),
        Err(VerifyError::WrongRegion { .. })
    ));
    let service = SigV4Verifier::new("us-east-1", "execute-api");
    assert!(matches!(
        verify(&service, now),
        Err(VerifyError::WrongService { .. })
    ));
    // Within five minutes is fine either way, beyond is refused.
    assert!(verify(&case.verifier, now + Duration::from_secs(299)).is_ok());
    assert!(verify(&case.verifier, now - Duration::from_secs(299)).is_ok());
    for off in [
        now + Duration::from_secs(301),
        now - Duration::from_secs(301),
    ] {
        let err = verify(&case.verifier, off).unwrap_err();
        assert!(matches!(err, VerifyError::ClockSkew { .. }), "{err}");
        assert!(err.to_string().contains("clock"), "{err}");
    }
    // A key configured with a session token needs exactly that token.
    let with_token = SigV4Verifier::new("us-east-1", "service").with_key(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("token".into()),
    );
    assert!(matches!(
        verify(&with_token, now),
        Err(VerifyError::SessionToken { .. })
    ));
    let mut token_case = load("get-vanilla-with-session-token");
    token_case.headers.insert(
        "x-amz-security-token",
        HeaderValue::from_static("another-token"),
    );
    let err = token_case.verify().unwrap_err();
    assert!(matches!(err, VerifyError::SessionToken { .. }), "{err}");
    assert!(!err.to_string().contains("another-token"));
    assert!(!err.to_string().contains("wJalrXUtnFEMI"));
}

#[test]
fn missing_or_malformed_headers_are_refused() {
    let mut case = load("get-vanilla");
    case.headers.remove("x-amz-date");
    assert!(matches!(
        case.verify(),
        Err(VerifyError::BadDate { value: None })
    ));
    let mut case = load("get-vanilla");
    case.headers.remove("authorization");
    assert_eq!(case.verify(), Err(VerifyError::MissingAuthorization));
    let mut case = load("get-vanilla");
    case.headers.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"),
    );
    assert!(matches!(
        case.verify(),
        Err(VerifyError::MalformedAuthorization { .. })
    ));
    let mut case = load("get-header-key-duplicate");
    case.headers.remove("my-header1");
    assert_eq!(
        case.verify(),
        Err(VerifyError::UnsignedHeader {
            name: "my-header1".into()
        })
    );
}
