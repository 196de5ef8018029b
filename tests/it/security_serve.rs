//! Security through the real binary: `herald serve` refusing to expose an unauthenticated
//! listener, `herald users add` and `herald tokens create` writing the users file, the
//! client commands' credentials, and confluent-kafka's Python SchemaRegistryClient with
//! Basic credentials and a static bearer token.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::registry_support::temp_dir;
use crate::serve::Server;

fn herald(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args(args)
        .env_remove("HERALD_USER")
        .env_remove("HERALD_PASSWORD")
        .env_remove("HERALD_TOKEN")
        .env_remove("HERALD_KAFKA_LISTEN");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run herald")
}

/// Runs `herald serve` expecting it to refuse to start; answers its stderr.
fn refused_serve(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .args(args)
        .env_remove("HERALD_KAFKA_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start herald serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            assert_eq!(status.code(), Some(2), "{stderr}");
            return stderr;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("herald serve {args:?} started where it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A users file with an admin (`root`) and a readonly token, made with the CLI; answers
/// the token.
fn users_file(path: &Path) -> String {
    let added = herald(
        &[
            "users",
            "add",
            "root",
            "--role",
            "admin",
            "--file",
            &path.display().to_string(),
        ],
        &[("HERALD_PASSWORD", "root-password")],
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    // A second user of the same name is refused, and the file keeps its one entry.
    let again = herald(
        &[
            "users",
            "add",
            "root",
            "--role",
            "readonly",
            "--file",
            &path.display().to_string(),
        ],
        &[("HERALD_PASSWORD", "other-password")],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already has"),
        "{again:?}"
    );
    let short = herald(
        &[
            "users",
            "add",
            "web",
            "--role",
            "readonly",
            "--file",
            &path.display().to_string(),
        ],
        &[("HERALD_PASSWORD", "short")],
    );
    assert_eq!(short.status.code(), Some(2));
    let created = herald(
        &[
            "tokens",
            "create",
            "svc",
            "--role",
            "readonly",
            "--file",
            &path.display().to_string(),
        ],
        &[],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains("root-password") && !text.contains(&token), "{text}");
    assert!(text.contains("$argon2id$"), "{text}");
    token
}

fn secured_server(dir: &Path) -> (Server, String) {
    let users = dir.join("users.toml");
    let token = users_file(&users);
    let config = dir.join("herald.toml");
    std::fs::write(&config, "[security]\nusers_file = \"users.toml\"\n").unwrap();
    let data = dir.join("data").display().to_string();
    let server = Server::start(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    (server, token)
}

#[test]
fn exposed_listeners_need_security() {
    let dir = temp_dir("herald-exposure");
    let data = dir.join("data").display().to_string();
    let stderr = refused_serve(&["--listen", "0.0.0.0:0", "--data-dir", &data, "--kafka-listen", "off"]);
    assert!(
        stderr.contains("refusing to serve 0.0.0.0:0 without authentication") && stderr.contains("allow_anonymous"),
        "{stderr}"
    );
    // Users in plaintext on the network: refused without TLS (or a declared TLS proxy).
    users_file(&dir.join("users.toml"));
    let config = dir.join("herald.toml");
    std::fs::write(&config, "[security]\nusers_file = \"users.toml\"\n").unwrap();
    let config = config.display().to_string();
    let stderr = refused_serve(&[
        "--config",
        &config,
        "--listen",
        "0.0.0.0:0",
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    assert!(
        stderr.contains("plaintext") && stderr.contains("trust_proxy_tls"),
        "{stderr}"
    );
    // SASL PLAIN passwords in plaintext on the network: refused without a TLS proxy.
    let stderr = refused_serve(&[
        "--config",
        &config,
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data,
        "--kafka-listen",
        "0.0.0.0:0",
    ]);
    assert!(stderr.contains("SASL passwords in plaintext"), "{stderr}");
    // A bad users file stops the start, naming the entry.
    std::fs::write(
        dir.join("users.toml"),
        "[[users]]\nname = \"x\"\npassword_hash = \"hunter2\"\n",
    )
    .unwrap();
    let stderr = refused_serve(&["--config", &config, "--data-dir", &data, "--kafka-listen", "off"]);
    assert!(
        stderr.contains("user \"x\"") && stderr.contains("plaintext"),
        "{stderr}"
    );
}

#[test]
fn client_commands_send_credentials() {
    let dir = temp_dir("herald-client-auth");
    let (server, token) = secured_server(&dir);
    let url = format!("http://{}", server.address);
    let denied = herald(&["topics", "list", "--server", &url], &[]);
    assert_eq!(denied.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("Unauthorized"),
        "{denied:?}"
    );
    let created = herald(
        &["topics", "create", "payments", "--server", &url, "--user", "root"],
        &[("HERALD_PASSWORD", "root-password")],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let listed = herald(&["topics", "list", "--server", &url], &[("HERALD_TOKEN", &token)]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("payments"));
    // --user without a password is a usage error, said before anything is sent.
    let no_password = herald(&["topics", "list", "--server", &url, "--user", "root"], &[]);
    assert_eq!(no_password.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("HERALD_PASSWORD"));
}

#[test]
fn confluent_python_client_with_basic_and_bearer() {
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        crate::support::skip("set HERALD_TEST_PYTHON to a Python with tests/python/requirements.txt (CI does)");
        return;
    };
    let dir = temp_dir("herald-python-auth");
    let (server, token) = secured_server(&dir);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/auth_test.py");
    let output = Command::new(python)
        .args([
            "-W",
            "ignore",
            script,
            &format!("http://{}", server.address),
            "root:root-password",
            &token,
        ])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok: all checks"), "{stdout}");
    // The registration and the refused one are in the audit log.
    let audit = std::fs::read_to_string(dir.join("data").join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"principal\":\"root\"") && audit.contains("\"outcome\":\"denied\""),
        "{audit}"
    );
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl command;
/// `None` (after saying why) without it.
fn self_signed(dir: &Path, name: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(output) if output.status.success() => Some((cert, key)),
        _ => {
            crate::support::skip("the openssl command is needed to make test certificates (Debian: openssl)");
            None
        }
    }
}

/// The certificate a server presents, as PEM, fetched with Python's ssl module.
fn presented(python: &str, address: &str) -> String {
    let (host, port) = address.rsplit_once(':').unwrap();
    let output = Command::new(python)
        .args([
            "-c",
            &format!("import ssl; print(ssl.get_server_certificate(('{host}', {port})))"),
        ])
        .output()
        .expect("run python");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// HTTPS: the Python client checks the certificate (`ssl.ca.location`) and authenticates
/// over it; plaintext gets nothing; a renewed certificate is served without a restart, and
/// a broken renewal keeps the one in force.
#[test]
fn https_with_the_python_client_and_certificate_reload() {
    let Some(python) = std::env::var("HERALD_TEST_PYTHON").ok().filter(|p| !p.is_empty()) else {
        crate::support::skip("set HERALD_TEST_PYTHON to a Python with tests/python/requirements.txt (CI does)");
        return;
    };
    let dir = temp_dir("herald-https");
    let Some((cert, key)) = self_signed(&dir, "first") else {
        return;
    };
    let token = users_file(&dir.join("users.toml"));
    let config = dir.join("herald.toml");
    std::fs::write(
        &config,
        "[security]\nusers_file = \"users.toml\"\n[security.tls]\ncert = \"first.pem\"\nkey = \"first.key\"\n",
    )
    .unwrap();
    let data = dir.join("data").display().to_string();
    let server = Server::start(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/auth_test.py");
    let url = format!("https://{}", server.address);
    let output = Command::new(&python)
        .args(["-W", "ignore", script, &url, "root:root-password", &token])
        .arg(&cert)
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("ok: all checks"),
        "the Python client failed over HTTPS:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Plaintext to the TLS listener gets no HTTP answer (a TLS alert, then the end).
    let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{}", String::from_utf8_lossy(&answer));

    let first = std::fs::read_to_string(&cert).unwrap();
    assert_eq!(presented(&python, &server.address), first.trim());
    // A renewal: new files in place of the old; served within a few seconds.
    let Some((renewed_cert, renewed_key)) = self_signed(&dir, "second") else {
        return;
    };
    std::fs::copy(&renewed_key, &key).unwrap();
    std::fs::copy(&renewed_cert, &cert).unwrap();
    let renewed = std::fs::read_to_string(&cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while presented(&python, &server.address) != renewed.trim() {
        assert!(Instant::now() < deadline, "the renewed certificate was not served");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A broken renewal (a key that is not the certificate's) keeps the renewed one.
    let Some((_, other_key)) = self_signed(&dir, "third") else {
        return;
    };
    std::fs::copy(&other_key, &key).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(presented(&python, &server.address), renewed.trim());
}

/// mTLS: client certificates the configured CA signed authenticate by their SAN (or CN),
/// with the roles and grants of that name; `herald` client commands reach an `https://`
/// server with `--ca-cert` and present a certificate with `--client-cert`/`--client-key`;
/// a certificate from another CA gets no connection, nor does a client without one where
/// certificates are required.
#[test]
fn client_certificates_and_https_client_commands() {
    let dir = temp_dir("herald-mtls");
    let Some(ca) = crate::certs::Ca::new(&dir, "clients-ca") else {
        return;
    };
    let Some(other_ca) = crate::certs::Ca::new(&dir, "other-ca") else {
        return;
    };
    ca.server("server");
    let billing = ca.client("billing", "/CN=not-the-principal", Some("DNS:billing.internal"));
    let auditor = ca.client("auditor", "/CN=auditor", None);
    let stranger = other_ca.client("stranger", "/CN=auditor", None);
    let expired = ca.expired_client("expired", "/CN=auditor");
    std::fs::write(
        dir.join("users.toml"),
        "[[certificates]]\nname = \"auditor\"\nroles = [\"readonly\"]\n\n\
         [[grants]]\nprincipal = \"billing.internal\"\nresource = \"topic\"\nname = \"billing-\"\nmatch = \"prefix\"\nallow = [\"admin\"]\n",
    )
    .unwrap();
    let tls = |client_auth: &str| {
        format!(
            "[security]\nusers_file = \"users.toml\"\n[security.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
             client_ca = \"clients-ca.pem\"\nclient_auth = \"{client_auth}\"\n"
        )
    };
    let config = dir.join("herald.toml");
    std::fs::write(&config, tls("optional")).unwrap();
    let data = dir.join("data").display().to_string();
    let server = Server::start(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    let url = format!("https://{}", server.address);
    let ca_cert = ca.pair.cert.display().to_string();
    let as_client = |pair: Option<&crate::certs::Pair>, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend([
            "--server".to_string(),
            url.clone(),
            "--ca-cert".to_string(),
            ca_cert.clone(),
        ]);
        if let Some(pair) = pair {
            all.extend([
                "--client-cert".to_string(),
                pair.cert.display().to_string(),
                "--client-key".to_string(),
                pair.key.display().to_string(),
            ]);
        }
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        herald(&all, &[])
    };
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    // Without --ca-cert the server's certificate is not trusted, and nothing is sent.
    let untrusted = herald(&["topics", "list", "--server", &url], &[]);
    assert_eq!(untrusted.status.code(), Some(2));
    assert!(
        stderr(&untrusted).contains("cannot reach the server"),
        "{}",
        stderr(&untrusted)
    );
    // Trusted, but no certificate and no credentials: 401, as over plaintext.
    let anonymous = as_client(None, &["topics", "list"]);
    assert!(stderr(&anonymous).contains("Unauthorized"), "{}", stderr(&anonymous));
    // The SAN names the principal (not the CN); its grant lets it create billing- topics.
    let created = as_client(Some(&billing), &["topics", "create", "billing-events"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let denied = as_client(Some(&billing), &["topics", "create", "payments"]);
    assert!(
        stderr(&denied).contains("User is denied operation Admin on Topic: payments"),
        "{}",
        stderr(&denied)
    );
    // Without a SAN, the CN; its [[certificates]] entry gives it the readonly role.
    let listed = as_client(Some(&auditor), &["topics", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("billing-events"));
    let read_only = as_client(Some(&auditor), &["topics", "create", "billing-more"]);
    assert!(stderr(&read_only).contains("denied"), "{}", stderr(&read_only));
    // A certificate another CA signed ends the handshake, whatever name it gives.
    let forged = as_client(Some(&stranger), &["topics", "list"]);
    assert_eq!(forged.status.code(), Some(2));
    assert!(
        stderr(&forged).contains("cannot reach the server"),
        "{}",
        stderr(&forged)
    );
    // So does one the right CA signed that is past its notAfter.
    std::thread::sleep(Duration::from_millis(1100));
    let stale = as_client(Some(&expired), &["topics", "list"]);
    assert_eq!(stale.status.code(), Some(2));
    assert!(stderr(&stale).contains("cannot reach the server"), "{}", stderr(&stale));
    // The audit log names the certificate's principal.
    let audit = std::fs::read_to_string(dir.join("data").join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"principal\":\"billing.internal\""), "{audit}");
    drop(server);

    // Required: a client without a certificate gets no connection, even for health.
    std::fs::write(&config, tls("required")).unwrap();
    let server = Server::start(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    let url = format!("https://{}", server.address);
    let refused = herald(&["topics", "list", "--server", &url, "--ca-cert", &ca_cert], &[]);
    assert!(
        stderr(&refused).contains("cannot reach the server"),
        "{}",
        stderr(&refused)
    );
    let admitted = herald(
        &[
            "topics",
            "list",
            "--server",
            &url,
            "--ca-cert",
            &ca_cert,
            "--client-cert",
            &auditor.cert.display().to_string(),
            "--client-key",
            &auditor.key.display().to_string(),
        ],
        &[],
    );
    assert!(admitted.status.success(), "{}", stderr(&admitted));
    // A client_auth without a CA, or a CA file that holds no certificate, stops the start.
    std::fs::write(
        &config,
        "[security]\nusers_file = \"users.toml\"\n[security.tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n\
         client_auth = \"required\"\n",
    )
    .unwrap();
    let stderr = refused_serve(&[
        "--config",
        &config.display().to_string(),
        "--data-dir",
        &data,
        "--kafka-listen",
        "off",
    ]);
    assert!(stderr.contains("client_auth needs client_ca"), "{stderr}");
}
