//! Prometheus metrics at `/metrics`: requests by route, method and status, request
//! latencies by route, registrations and rejected registrations.
//!
//! Label sets are bounded: routes are templates (`/subjects/{subject}/versions`, or
//! `unmatched` for every path no route takes), methods are the standard ones or `other`, and
//! statuses are the server's own. No request can add a series of its choosing.
//!
//! A handful of counters behind one lock, rendered in the text exposition format: a
//! metrics crate would bring a registry, macros and an exporter for what fits on a page.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;

use axum::http::Method;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    /// Route template → its counts and latencies. Looked up by `&str`, so a request to a
    /// route seen before allocates nothing.
    routes: HashMap<String, RouteStats>,
    /// outcome (`created`, `existing`) → count.
    registrations: BTreeMap<&'static str, u64>,
    /// reason (`incompatible`, `invalid`, …) → count.
    rejected: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
struct RouteStats {
    /// (method label, status) → count; a handful of entries per route.
    requests: Vec<(&'static str, u16, u64)>,
    latency: Histogram,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request under its route template and [`method_label`].
    pub fn record_request(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let mut c = self.counters();
        let stats = match c.routes.get_mut(route) {
            Some(stats) => stats,
            None => c.routes.entry(route.to_string()).or_default(),
        };
        match stats.requests.iter_mut().find(|(m, s, _)| *m == method && *s == status) {
            Some((_, _, n)) => *n += 1,
            None => stats.requests.push((method, status, 1)),
        }
        let h = &mut stats.latency;
        h.count += 1;
        h.sum += seconds;
        for (bucket, bound) in h.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    pub fn record_registration(&self, outcome: &'static str) {
        *self.counters().registrations.entry(outcome).or_default() += 1;
    }

    pub fn record_rejection(&self, reason: &'static str) {
        *self.counters().rejected.entry(reason).or_default() += 1;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let c = self.counters();
        let mut routes: Vec<(&String, &RouteStats)> = c.routes.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::new();
        out.push_str("# HELP herald_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE herald_http_requests_total counter\n");
        for (route, stats) in &routes {
            let mut requests = stats.requests.clone();
            requests.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            for (method, status, n) in requests {
                let _ = writeln!(
                    out,
                    "herald_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP herald_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE herald_http_request_duration_seconds histogram\n");
        for (route, stats) in &routes {
            let h = &stats.latency;
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "herald_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "herald_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "herald_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "herald_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP herald_registrations_total Schema registrations accepted, by outcome.\n");
        out.push_str("# TYPE herald_registrations_total counter\n");
        for (outcome, n) in &c.registrations {
            let _ = writeln!(out, "herald_registrations_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP herald_registrations_rejected_total Schema registrations refused, by reason.\n");
        out.push_str("# TYPE herald_registrations_rejected_total counter\n");
        for (reason, n) in &c.rejected {
            let _ = writeln!(out, "herald_registrations_rejected_total{{reason=\"{reason}\"}} {n}");
        }
        out
    }
}

/// The label of a request's method: the standard methods by name, every extension method
/// (`FOOBAR`, any token a client invents) as `other`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Records produced under a subject past its sunset (metadata `herald.deprecated`), by subject
/// and what the topic's `sunset_produce` did with them. Subjects are registered ones.
pub fn render_sunset_counts(out: &mut String, counts: &[(String, &'static str, u64)]) {
    use std::fmt::Write as _;
    out.push_str("# HELP herald_sunset_records_total Records produced under a subject past its sunset, by subject and action (warned: accepted; refused).\n");
    out.push_str("# TYPE herald_sunset_records_total counter\n");
    for (subject, action, n) in counts {
        let _ = writeln!(
            out,
            "herald_sunset_records_total{{subject=\"{}\",action=\"{action}\"}} {n}",
            escape(subject)
        );
    }
}

/// The contract gate's data-contract rule outcomes, per subject and rule (rules are the
/// registered rule sets', so the labels stay bounded).
pub fn render_rule_counts(out: &mut String, counts: &[(String, String, &'static str, u64)]) {
    use std::fmt::Write as _;
    out.push_str("# HELP herald_rule_evaluations_total Data-contract rules run on produced records, by subject, rule and outcome (passed; failed: refused; counted: onFailure NONE).\n");
    out.push_str("# TYPE herald_rule_evaluations_total counter\n");
    for (subject, rule, outcome, n) in counts {
        let _ = writeln!(
            out,
            "herald_rule_evaluations_total{{subject=\"{}\",rule=\"{}\",outcome=\"{outcome}\"}} {n}",
            escape(subject),
            escape(rule)
        );
    }
}
