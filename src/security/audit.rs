//! The audit log: one JSON line per change, denial, failed login and rules reload, in the
//! data directory. Lines name who, from where, what and on what, and the outcome; never a
//! password, a token or a schema's text.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

/// One audited event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub time: u64,
    /// `request` (a change or a denial), `authentication` (failed credentials) or `reload`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// `POST /subjects/{subject}/versions`: the method and route template, not the path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// `Subject: orders-value`, `Topic: orders`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `allowed`, `denied`, `failed`, or the response status for a change.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AuditEvent {
    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// A request: a change (with its status) or a denial.
    pub fn request(principal: &str, client: Option<String>, operation: String, resource: Option<String>) -> AuditEvent {
        AuditEvent {
            time: AuditEvent::now(),
            kind: "request",
            principal: Some(principal.to_string()),
            client,
            operation: Some(operation),
            resource,
            outcome: String::new(),
            status: None,
            request_id: None,
            detail: None,
        }
    }

    /// A refusal of `operation` on `resource`.
    pub fn denied(principal: &str, operation: super::Operation, resource: &super::Resource) -> AuditEvent {
        let mut event = AuditEvent::request(
            principal,
            None,
            operation.as_str().to_string(),
            Some(resource.to_string()),
        );
        event.outcome = "denied".to_string();
        event.status = Some(403);
        event
    }

    /// Credentials that matched nobody. `user` is the name given, never the password.
    pub fn failed_login(user: Option<&str>, client: Option<String>, operation: String) -> AuditEvent {
        AuditEvent {
            time: AuditEvent::now(),
            kind: "authentication",
            principal: user.map(str::to_string),
            client,
            operation: Some(operation),
            resource: None,
            outcome: "failed".to_string(),
            status: Some(401),
            request_id: None,
            detail: None,
        }
    }

    /// The users file read again, or refused.
    pub fn reload(applied: bool, why: Option<String>) -> AuditEvent {
        AuditEvent {
            time: AuditEvent::now(),
            kind: "reload",
            principal: None,
            client: None,
            operation: None,
            resource: None,
            outcome: if applied { "applied" } else { "refused" }.to_string(),
            status: None,
            request_id: None,
            detail: why,
        }
    }
}

/// The audit log file, appended to by every request task in turn.
pub struct Audit {
    file: Mutex<File>,
}

impl Audit {
    pub fn open(path: &Path) -> Result<Audit, String> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the audit log {}: {e}", path.display()))?;
        Ok(Audit { file: Mutex::new(file) })
    }

    /// Appends one line. A failure to write is logged, never the request's failure.
    pub fn write(&self, event: &AuditEvent) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}
