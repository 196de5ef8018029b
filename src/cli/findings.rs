//! What `herald check` and `herald validate` found, and the formats CI systems read it in:
//! human text (coloured on a terminal), JSON, GitHub workflow annotations, JUnit XML and
//! SARIF 2.1.0. A run that could not be made (no schema found, an unreachable registry, a
//! file that does not parse) says so in each format too, so a CI step that reads only the
//! report never takes a failed run for a clean one.

use std::fmt::Write;
use std::io::IsTerminal;

use clap::ValueEnum;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One thing found, placed on a file and line when it has a place.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable rule id: a compatibility rule (`READER_FIELD_MISSING_DEFAULT_VALUE`), a lint
    /// rule, `SCHEMA_INVALID`, `EXAMPLE_INVALID`, `EVENT_INVALID`, …
    pub rule: String,
    pub file: String,
    pub line: Option<usize>,
    pub subject: Option<String>,
    /// JSON pointer into the file's document (or the event's field path).
    pub pointer: Option<String>,
    /// The schema field concerned, as a dotted path (`customer.address.city`; see
    /// [`crate::schema::field_path`]), for compatibility and lint findings about a field.
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// Everything a run looked at and found.
#[derive(Debug, Default)]
pub struct Report {
    /// The command, for report titles (`herald check`).
    pub tool: String,
    /// Each file checked, with the subject it stands for.
    pub checked: Vec<(String, Option<String>)>,
    pub findings: Vec<Finding>,
    /// Why the run failed (exit 2), when it did: what it could not do and where it looked.
    pub error: Option<String>,
}

impl Report {
    /// The report of a run that stopped before checking anything.
    pub fn failed(tool: &str, error: &str) -> Report {
        Report {
            tool: tool.to_string(),
            error: Some(error.to_string()),
            ..Report::default()
        }
    }

    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Warning).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    /// Text for people; coloured when printed to a terminal.
    #[default]
    Human,
    Json,
    /// GitHub Actions workflow commands: annotations on the file and line.
    Github,
    Junit,
    Sarif,
}

pub fn render(report: &Report, format: ReportFormat) -> String {
    match format {
        ReportFormat::Human => human(report, std::io::stdout().is_terminal()),
        ReportFormat::Json => pretty(&json_report(report)),
        ReportFormat::Github => github(report),
        ReportFormat::Junit => junit(report),
        ReportFormat::Sarif => pretty(&sarif(report)),
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn place(f: &Finding) -> String {
    match f.line {
        Some(line) => format!("{}:{line}", f.file),
        None => f.file.clone(),
    }
}

pub fn human(report: &Report, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    // A run that stopped before looking at anything has only its error to say, and says it
    // on standard error.
    if report.error.is_some() && report.checked.is_empty() && report.findings.is_empty() {
        return out;
    }
    for f in &report.findings {
        let label = match f.severity {
            Severity::Error => paint("1;31", "error"),
            Severity::Warning => paint("1;33", "warning"),
        };
        let subject = f.subject.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}: {label} {}{subject}: {}",
            paint("1", &place(f)),
            f.rule,
            f.message
        );
        match (&f.field, &f.pointer) {
            // An empty pointer (the document) adds nothing to a field's name.
            (Some(field), Some(pointer)) if !pointer.is_empty() => {
                let _ = writeln!(out, "    at {field} ({pointer})");
            }
            (Some(field), _) => {
                let _ = writeln!(out, "    at {field}");
            }
            (None, Some(pointer)) => {
                let _ = writeln!(out, "    at {}", shown_pointer(pointer));
            }
            (None, None) => {}
        }
        if let Some(hint) = &f.hint {
            let _ = writeln!(out, "    fix: {hint}");
        }
    }
    let summary = format!(
        "{}: {} file{} checked, {} error{}, {} warning{}",
        report.tool,
        report.checked.len(),
        plural(report.checked.len()),
        report.errors(),
        plural(report.errors()),
        report.warnings(),
        plural(report.warnings()),
    );
    let _ = writeln!(
        out,
        "{}",
        if report.errors() > 0 {
            paint("1;31", &summary)
        } else {
            paint("1;32", &summary)
        }
    );
    out
}

fn shown_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(the document)"
    } else {
        pointer
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn json_report(report: &Report) -> Value {
    json!({
        "tool": report.tool,
        "errors": report.errors(),
        "warnings": report.warnings(),
        "error": report.error,
        "checked": report.checked.iter().map(|(file, subject)| json!({"file": file, "subject": subject})).collect::<Vec<_>>(),
        "findings": report.findings.iter().map(|f| json!({
            "severity": f.severity.as_str(),
            "rule": f.rule,
            "file": f.file,
            "line": f.line,
            "subject": f.subject,
            "pointer": f.pointer,
            "field": f.field,
            "message": f.message,
            "hint": f.hint,
        })).collect::<Vec<_>>(),
    })
}

/// GitHub's workflow-command escaping: `%`, CR and LF in the message; also `:` and `,` in
/// property values.
fn github_escape(text: &str, property: bool) -> String {
    let mut out = text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = vec![format!("file={}", github_escape(&f.file, true))];
        if let Some(line) = f.line {
            properties.push(format!("line={line}"));
        }
        properties.push(format!("title={}", github_escape(&f.rule, true)));
        let mut message = f.message.clone();
        if let Some(hint) = &f.hint {
            message.push_str("\nfix: ");
            message.push_str(hint);
        }
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            github_escape(&message, false)
        );
    }
    if let Some(error) = &report.error {
        let _ = writeln!(
            out,
            "::error title={}::{}",
            github_escape(&report.tool, true),
            github_escape(error, false)
        );
    }
    let _ = writeln!(
        out,
        "{}: {} checked, {} errors, {} warnings{}",
        report.tool,
        report.checked.len(),
        report.errors(),
        report.warnings(),
        if report.error.is_some() {
            ", and the run failed"
        } else {
            ""
        }
    );
    out
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One test case per file checked; each error finding is a failure of its file's case,
/// warnings go to the case's output. A run that failed adds a case named after the tool,
/// in error.
pub fn junit(report: &Report) -> String {
    // Findings can be on files that were not themselves checked (an example, a topic.toml):
    // they get cases of their own, so no error is left out of the report.
    let mut cases: Vec<(String, Option<String>)> = report.checked.clone();
    for f in &report.findings {
        if !cases.iter().any(|(file, _)| *file == f.file) {
            cases.push((f.file.clone(), f.subject.clone()));
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let failed_files = cases
        .iter()
        .filter(|(file, _)| {
            report
                .findings
                .iter()
                .any(|f| &f.file == file && f.severity == Severity::Error)
        })
        .count();
    let errors = usize::from(report.error.is_some());
    let _ = writeln!(
        out,
        r#"<testsuites name="{0}" tests="{1}" failures="{2}" errors="{3}">"#,
        xml_escape(&report.tool),
        cases.len() + errors,
        failed_files,
        errors
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="{0}" tests="{1}" failures="{2}" errors="{3}">"#,
        xml_escape(&report.tool),
        cases.len() + errors,
        failed_files,
        errors
    );
    if let Some(error) = &report.error {
        let _ = writeln!(
            out,
            r#"    <testcase classname="herald" name="{0}">"#,
            xml_escape(&report.tool)
        );
        let _ = writeln!(
            out,
            r#"      <error type="HERALD_FAILED" message="{0}">{0}</error>"#,
            xml_escape(error)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    for (file, subject) in &cases {
        let findings: Vec<&Finding> = report.findings.iter().filter(|f| &f.file == file).collect();
        let _ = write!(
            out,
            r#"    <testcase classname="{}" name="{}""#,
            xml_escape(subject.as_deref().unwrap_or("herald")),
            xml_escape(file)
        );
        if findings.is_empty() {
            let _ = writeln!(out, "/>");
            continue;
        }
        let _ = writeln!(out, ">");
        let mut notes = String::new();
        for f in findings {
            let detail = format!(
                "{}: {}{}",
                place(f),
                f.message,
                f.hint.as_deref().map(|h| format!("\nfix: {h}")).unwrap_or_default()
            );
            if f.severity == Severity::Error {
                let _ = writeln!(
                    out,
                    r#"      <failure type="{}" message="{}">{}</failure>"#,
                    xml_escape(&f.rule),
                    xml_escape(&f.message),
                    xml_escape(&detail)
                );
            } else {
                let _ = writeln!(notes, "{} {}: {detail}", f.severity.as_str(), f.rule);
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "      <system-out>{}</system-out>", xml_escape(notes.trim_end()));
        }
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

/// SARIF 2.1.0: one run, the rules seen, and a result per finding located on its file and
/// line (code scanning shows them on the pull request). The run's invocation says whether
/// it succeeded; a failed one carries the reason as an error notification.
pub fn sarif(report: &Report) -> Value {
    let mut rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": f.file}}});
            if let Some(line) = f.line {
                location["physicalLocation"]["region"] = json!({"startLine": line});
            }
            let mut text = f.message.clone();
            if let Some(hint) = &f.hint {
                text.push_str(" Fix: ");
                text.push_str(hint);
            }
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": rules.iter().position(|r| *r == f.rule).unwrap_or(0),
                "level": f.severity.as_str(),
                "message": {"text": text},
                "locations": [location],
            });
            let mut properties = serde_json::Map::new();
            if let Some(subject) = &f.subject {
                properties.insert("subject".into(), json!(subject));
            }
            if let Some(pointer) = &f.pointer {
                properties.insert("pointer".into(), json!(pointer));
            }
            if let Some(field) = &f.field {
                properties.insert("field".into(), json!(field));
            }
            if !properties.is_empty() {
                result["properties"] = Value::Object(properties);
            }
            result
        })
        .collect();
    let mut invocation = json!({"executionSuccessful": report.error.is_none()});
    if let Some(error) = &report.error {
        invocation["exitCode"] = json!(2);
        invocation["toolExecutionNotifications"] = json!([{"level": "error", "message": {"text": error}}]);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "herald",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": rule_description(r)}})).collect::<Vec<_>>(),
            }},
            "invocations": [invocation],
            "artifacts": report.checked.iter().map(|(file, _)| json!({"location": {"uri": file}})).collect::<Vec<_>>(),
            "results": results,
        }],
    })
}

fn rule_description(rule: &str) -> String {
    match rule {
        "SCHEMA_INVALID" => "The schema does not parse or is not a valid schema.".to_string(),
        "EXAMPLE_INVALID" => "An example event does not match its schema.".to_string(),
        "EVENT_INVALID" => "An event does not match its schema.".to_string(),
        "FIELD_UNDOCUMENTED" => "A field has no documentation.".to_string(),
        "OPTIONAL_FIELD_WITHOUT_DEFAULT" => "An optional field has no default.".to_string(),
        "INCONSISTENT_NAMING" => "A field name does not follow the schema's case style.".to_string(),
        other => format!("Compatibility rule {other}: the change breaks consumers under the subject's level."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            tool: "herald check".to_string(),
            checked: vec![
                ("schemas/a/value.avsc".to_string(), Some("a-value".to_string())),
                ("schemas/b/value.json".to_string(), Some("b-value".to_string())),
            ],
            findings: vec![
                Finding {
                    severity: Severity::Error,
                    rule: "READER_FIELD_MISSING_DEFAULT_VALUE".to_string(),
                    file: "schemas/a/value.avsc".to_string(),
                    line: Some(7),
                    subject: Some("a-value".to_string()),
                    pointer: Some("/fields/2".to_string()),
                    field: Some("customer.x".to_string()),
                    message: "field \"x\" has no default, 100% <bad>".to_string(),
                    hint: Some("add a default".to_string()),
                },
                Finding {
                    severity: Severity::Warning,
                    rule: "FIELD_UNDOCUMENTED".to_string(),
                    file: "schemas/b/value.json".to_string(),
                    line: None,
                    subject: None,
                    pointer: None,
                    field: None,
                    message: "field y has no documentation".to_string(),
                    hint: None,
                },
            ],
            error: None,
        }
    }

    #[test]
    fn github_annotations_escape_their_parts() {
        let text = github(&sample());
        assert!(
            text.starts_with(
                "::error file=schemas/a/value.avsc,line=7,title=READER_FIELD_MISSING_DEFAULT_VALUE::field \"x\" has no default, 100%25 <bad>%0Afix: add a default\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("::warning file=schemas/b/value.json,title=FIELD_UNDOCUMENTED::"),
            "{text}"
        );
    }

    #[test]
    fn junit_marks_files_with_errors_as_failed() {
        let xml = junit(&sample());
        assert!(
            xml.contains(r#"<testsuite name="herald check" tests="2" failures="1" errors="0">"#),
            "{xml}"
        );
        assert!(xml.contains("100% &lt;bad&gt;"), "{xml}");
        assert!(xml.contains("<system-out>warning FIELD_UNDOCUMENTED"), "{xml}");
    }

    #[test]
    fn a_failed_run_says_so_in_every_format() {
        let failed = Report::failed("herald check", "no schema file found; looked in a & b");
        assert_eq!(human(&failed, false), "", "people read the error on standard error");
        assert_eq!(json_report(&failed)["error"], "no schema file found; looked in a & b");
        assert_eq!(
            github(&failed),
            "::error title=herald check::no schema file found; looked in a & b\n\
             herald check: 0 checked, 0 errors, 0 warnings, and the run failed\n"
        );
        let xml = junit(&failed);
        assert!(
            xml.contains(r#"<testsuite name="herald check" tests="1" failures="0" errors="1">"#)
                && xml.contains(r#"<error type="HERALD_FAILED" message="no schema file found; looked in a &amp; b">"#),
            "{xml}"
        );
        let log = sarif(&failed);
        assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
        assert_eq!(
            log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
            "no schema file found; looked in a & b"
        );
        // A run that went through says so too.
        assert_eq!(
            sarif(&sample())["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
        assert!(json_report(&sample())["error"].is_null());
    }

    #[test]
    fn human_text_has_no_colour_off_a_terminal() {
        let text = human(&sample(), false);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("schemas/a/value.avsc:7: error READER_FIELD_MISSING_DEFAULT_VALUE [a-value]:"));
        assert!(text.contains("\n    at customer.x (/fields/2)\n"), "{text}");
        assert!(
            text.ends_with("herald check: 2 files checked, 1 error, 1 warning\n"),
            "{text}"
        );
        assert!(human(&sample(), true).contains("\u{1b}[1;31m"));
    }
}
