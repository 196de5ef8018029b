//! Test certificates made with the openssl command: a CA, server certificates for
//! 127.0.0.1 and localhost, and client certificates for mTLS, all signed by the CA.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A test CA in `dir`.
pub struct Ca {
    pub pair: Pair,
    dir: PathBuf,
}

fn openssl(args: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

impl Ca {
    /// A new CA, or `None` after saying why (no openssl command).
    pub fn new(dir: &Path, name: &str) -> Option<Ca> {
        let pair = Pair {
            cert: dir.join(format!("{name}.pem")),
            key: dir.join(format!("{name}.key")),
        };
        let made = openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            text(&pair.key),
            "-out",
            text(&pair.cert),
        ]);
        match made {
            Ok(()) => Some(Ca {
                pair,
                dir: dir.to_path_buf(),
            }),
            Err(why) => {
                crate::support::skip(&format!(
                    "the openssl command is needed to make test certificates (Debian: openssl): {why}"
                ));
                None
            }
        }
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self, name: &str) -> Pair {
        self.sign(
            name,
            &format!("/CN={name}"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
    }

    /// A client certificate with the subject `subject` (`/CN=…`) and, if given, the
    /// subject alternative names `san` (`DNS:…`, `email:…`).
    pub fn client(&self, name: &str, subject: &str, san: Option<&str>) -> Pair {
        let mut extensions = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n".to_string();
        if let Some(san) = san {
            extensions.push_str(&format!("subjectAltName={san}\n"));
        }
        self.sign(name, subject, &extensions)
    }

    /// A client certificate that expired the moment it was made (valid for zero days).
    pub fn expired_client(&self, name: &str, subject: &str) -> Pair {
        self.sign_for(
            name,
            subject,
            "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
            "0",
        )
    }

    fn sign(&self, name: &str, subject: &str, extensions: &str) -> Pair {
        self.sign_for(name, subject, extensions, "2")
    }

    fn sign_for(&self, name: &str, subject: &str, extensions: &str, days: &str) -> Pair {
        let pair = Pair {
            cert: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        };
        let request = self.dir.join(format!("{name}.csr"));
        let extensions_file = self.dir.join(format!("{name}.ext"));
        std::fs::write(&extensions_file, extensions).unwrap();
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            text(&pair.key),
            "-out",
            text(&request),
        ])
        .expect("openssl req");
        openssl(&[
            "x509",
            "-req",
            "-in",
            text(&request),
            "-CA",
            text(&self.pair.cert),
            "-CAkey",
            text(&self.pair.key),
            "-CAcreateserial",
            "-days",
            days,
            "-extfile",
            text(&extensions_file),
            "-out",
            text(&pair.cert),
        ])
        .expect("openssl x509 -req");
        pair
    }
}
