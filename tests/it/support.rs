//! Helpers shared by the test modules.

use herald::compat::{self, CompatibilityLevel, PreviousVersion, Report};
use herald::schema::{Schema, SchemaType};

/// Says why a test skips part of its work because a real component is absent. Where
/// `HERALD_TEST_REQUIRE_ALL` is set (`.ci/run` sets it, after installing everything), a
/// missing component fails the test instead: nothing skips in CI.
pub fn skip(reason: &str) {
    if std::env::var_os("HERALD_TEST_REQUIRE_ALL").is_some_and(|v| !v.is_empty()) {
        panic!("HERALD_TEST_REQUIRE_ALL is set, but this test would skip: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// Parses a schema that the test expects to be valid.
pub fn parse(schema_type: SchemaType, text: &str) -> Schema {
    Schema::parse(schema_type, text, &[]).unwrap_or_else(|e| panic!("test schema does not parse: {e}\n{text}"))
}

/// The one helper of the compatibility tables: checks `new` against `previous` (oldest
/// first, numbered from 1) under `level`.
pub fn check(schema_type: SchemaType, level: &str, previous: &[&str], new: &str) -> Report {
    let level: CompatibilityLevel = level.parse().expect("a valid level in the table");
    let parsed: Vec<Schema> = previous.iter().map(|p| parse(schema_type, p)).collect();
    let versions: Vec<PreviousVersion<'_>> = PreviousVersion::numbered(&parsed);
    compat::check(level, &versions, &parse(schema_type, new)).expect("judged within the step budget")
}

/// One row of a compatibility table.
pub struct Case {
    pub name: &'static str,
    pub level: &'static str,
    pub previous: Vec<&'static str>,
    pub new: &'static str,
    /// Rule ids expected, in order; empty means compatible.
    pub expect: Vec<&'static str>,
}

/// Runs every case, collects every mismatch, and fails once with all of them, so one run
/// shows the whole picture. Returns a rendering of all reports for a snapshot.
pub fn run_table(schema_type: SchemaType, cases: &[Case]) -> String {
    let mut failures = Vec::new();
    let mut rendering = String::new();
    for case in cases {
        let report = check(schema_type, case.level, &case.previous, case.new);
        let rules: Vec<&str> = report.incompatibilities.iter().map(|i| i.rule).collect();
        if rules != case.expect {
            failures.push(format!(
                "{} [{}]: expected {:?}, got {:?}",
                case.name, case.level, case.expect, rules
            ));
        }
        rendering.push_str(&format!("## {} [{}]\n", case.name, case.level));
        if report.is_compatible() {
            rendering.push_str("compatible\n");
        }
        for i in &report.incompatibilities {
            rendering.push_str(&format!(
                "- {} {} v{} old={} new={}\n  {}\n  {}\n",
                i.rule,
                i.direction.as_str(),
                i.version,
                display(&i.old_pointer),
                display(&i.new_pointer),
                i.message,
                i.confluent
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    rendering
}

fn display(pointer: &str) -> &str {
    if pointer.is_empty() {
        "/"
    } else {
        pointer
    }
}

/// Shorthand for building a table row.
pub fn case(
    name: &'static str,
    level: &'static str,
    previous: &[&'static str],
    new: &'static str,
    expect: &[&'static str],
) -> Case {
    Case {
        name,
        level,
        previous: previous.to_vec(),
        new,
        expect: expect.to_vec(),
    }
}
