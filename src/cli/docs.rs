//! `herald docs build`: the documentation UI of a running server saved as a static site.
//!
//! The pages link to each other with relative paths ending in `.html`, so the site is the
//! server's `/ui/` tree fetched page by page: start at the catalog, follow every relative
//! link, save each answer under the same path. A link that does not resolve is an error,
//! so a published site has no broken links.

use std::collections::{BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use serde_json::Value;

use super::broker::{topic_names, ServerArg};
use super::client::Client;
use super::{CliError, Outcome};
use crate::config::{check_advertised, check_public_url};
use crate::docs::{asyncapi, render, to_yaml, Endpoints};

#[derive(Debug, Args)]
pub struct DocsArgs {
    #[command(subcommand)]
    command: DocsCommand,
}

#[derive(Debug, Subcommand)]
enum DocsCommand {
    /// Write the catalog, topic, changelog, subject, version and schema pages, the raw
    /// schemas and the AsyncAPI documents of a server into DIR, with relative links.
    Build {
        /// The directory to write: created, or replaced if an earlier build made it (a
        /// directory holding anything else is refused).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        server: ServerArg,
        /// The URL the site's readers reach the server at (its REST API and schema
        /// registry), when it is not the one the server was started with: the client
        /// snippets and the AsyncAPI servers name it instead.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// The Kafka bootstrap address the site's readers use, when it is not the one the
        /// server advertises.
        #[arg(long, value_name = "HOST:PORT")]
        kafka_bootstrap: Option<String>,
    },
}

pub fn run_docs(args: &DocsArgs) -> Result<Outcome, CliError> {
    match &args.command {
        DocsCommand::Build {
            out,
            server,
            public_url,
            kafka_bootstrap,
        } => {
            let public_url = public_url
                .as_deref()
                .map(|url| plain("--public-url", url).and_then(|()| checked("--public-url", check_public_url(url))))
                .transpose()?;
            let kafka_bootstrap = kafka_bootstrap
                .as_deref()
                .map(|address| {
                    plain("--kafka-bootstrap", address)
                        .and_then(|()| checked("--kafka-bootstrap", check_advertised(address)))
                })
                .transpose()?;
            let client = Client::new(&server.server)?;
            require_contents(&client)?;
            let relocation = Relocation::of(&client, public_url, kafka_bootstrap)?;
            let written = build_replacing(&client, out, &relocation)?;
            let _ = writeln!(
                std::io::stdout(),
                "wrote {written} files to {}; open {}",
                out.display(),
                out.join("index.html").display()
            );
            Ok(Outcome::Clean)
        }
    }
}

/// A server with no subject and no topic has nothing to document: building its site would
/// publish an empty catalog in place of the last good one (a wrong `--server`, a fresh
/// data directory), so that is an error, as is a server that is not Herald.
fn require_contents(client: &Client) -> Result<(), CliError> {
    let subjects = client.get("/subjects")?;
    if subjects.status != 200 || !subjects.body.is_array() {
        return Err(CliError(format!(
            "the server at {} answered GET /subjects with {} and no list of subjects; is --server a Herald server's URL?",
            client.url(),
            subjects.status
        )));
    }
    let has_subjects = subjects.body.as_array().is_some_and(|list| !list.is_empty());
    if !has_subjects && topic_names(client)?.is_empty() {
        return Err(CliError(format!(
            "the server at {} has no subjects and no topics: nothing to document, so no site was written",
            client.url()
        )));
    }
    Ok(())
}

/// Marks a directory as a site this command wrote, so a later build may replace it whole.
const MARKER: &str = ".herald-site";

/// Builds the site beside `out` and then puts it in `out`'s place, so a failed build leaves
/// the previous site as it was and a new one carries no stale pages. An `out` that holds
/// anything but a previous site is left alone: the build stops before touching it.
fn build_replacing(client: &Client, out: &Path, relocation: &Relocation) -> Result<usize, CliError> {
    let replaceable = match std::fs::read_dir(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(CliError(format!("cannot read {}: {e}", out.display()))),
        Ok(mut entries) => out.join(MARKER).is_file() || entries.next().is_none(),
    };
    if !replaceable {
        return Err(CliError(format!(
            "{} is not empty and holds no site built by herald docs build; choose another --out or empty it",
            out.display()
        )));
    }
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("site");
    let partial = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let built = build(client, &partial, relocation).and_then(|written| {
        std::fs::write(partial.join(MARKER), "")
            .map_err(|e| CliError(format!("cannot write {}: {e}", partial.display())))?;
        Ok(written)
    });
    let written = match built {
        Ok(written) => written,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| CliError(format!("cannot replace {}: {e}", out.display())))?;
    }
    std::fs::rename(&partial, out).map_err(|e| CliError(format!("cannot move the site to {}: {e}", out.display())))?;
    Ok(written)
}

/// Fetches every page reachable from the catalog and writes it under `out`; answers how
/// many files were written.
fn build(client: &Client, out: &Path, relocation: &Relocation) -> Result<usize, CliError> {
    let mut queue: VecDeque<(String, String)> = VecDeque::new();
    let mut seen = BTreeSet::new();
    for start in ["index.html", "asyncapi.json", "asyncapi.yaml"] {
        seen.insert(start.to_string());
        queue.push_back((start.to_string(), "the start".to_string()));
    }
    let mut written = 0;
    while let Some((page, linked_from)) = queue.pop_front() {
        let (status, body) = client.get_bytes(&format!("/ui/{}", relocation.source_of(&page)))?;
        if status != 200 {
            return Err(CliError(format!(
                "/ui/{page} (linked from {linked_from}) answered HTTP {status}"
            )));
        }
        let body = relocation.apply(&page, body)?;
        let file = out.join(&page);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CliError(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&file, &body).map_err(|e| CliError(format!("cannot write {}: {e}", file.display())))?;
        written += 1;
        if page.ends_with(".html") {
            let text = String::from_utf8_lossy(&body);
            for link in links(&text) {
                if let Some(target) = resolve(&page, &link) {
                    if seen.insert(target.clone()) {
                        queue.push_back((target, page.clone()));
                    }
                }
            }
        }
    }
    Ok(written)
}

fn checked<T>(flag: &str, result: Result<T, crate::config::ConfigError>) -> Result<T, CliError> {
    result.map_err(|e| CliError(format!("{flag}: {e}")))
}

/// A published address replaces the server's inside client snippets as it is, where the
/// server would have quoted it for the snippet's language; so it may hold only characters
/// that need no quoting in any of them.
fn plain(flag: &str, value: &str) -> Result<(), CliError> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/');
    match value.chars().find(|&c| !fits(c)) {
        None => Ok(()),
        Some(c) => Err(CliError(format!(
            "{flag} {value:?}: {c:?} is not allowed in a published address (letters, digits and . - _ : / only; for an IPv6 address, use a host name)"
        ))),
    }
}

/// Where the site tells its readers to connect, when that is not where the server says it
/// is (a site built from a server on a laptop or in CI, published for everyone).
///
/// The AsyncAPI documents are rewritten as documents: their servers are made again from the
/// new addresses (a YAML document from its JSON twin, which says the same). In pages, the
/// server's own addresses are replaced wherever they are printed, as the templates print
/// them (HTML-escaped) or as they are.
#[derive(Debug, Default)]
struct Relocation {
    /// The server's addresses and the site's; `None` when they are the same.
    moved: Option<(Endpoints, Endpoints)>,
}

impl Relocation {
    fn of(
        client: &Client,
        public_url: Option<String>,
        kafka_bootstrap: Option<String>,
    ) -> Result<Relocation, CliError> {
        if public_url.is_none() && kafka_bootstrap.is_none() {
            return Ok(Relocation::default());
        }
        let (status, body) = client.get_bytes("/ui/asyncapi.json")?;
        let document: Option<Value> = (status == 200).then(|| serde_json::from_slice(&body).ok()).flatten();
        let Some(from) = document.as_ref().and_then(asyncapi::endpoints_of) else {
            return Err(CliError(format!(
                "the server at {} did not say where it is (GET /ui/asyncapi.json answered HTTP {status} without servers), so its addresses cannot be replaced",
                client.url()
            )));
        };
        if kafka_bootstrap.is_some() && from.kafka_bootstrap.is_none() {
            return Err(CliError(format!(
                "--kafka-bootstrap: the server at {} has no Kafka listener, so its pages name no Kafka address to replace",
                client.url()
            )));
        }
        let to = Endpoints {
            public_url: public_url.unwrap_or_else(|| from.public_url.clone()),
            kafka_bootstrap: kafka_bootstrap.or_else(|| from.kafka_bootstrap.clone()),
        };
        Ok(Relocation {
            moved: Some((from, to)),
        })
    }

    /// The server path a site page is made from: an AsyncAPI YAML document from its JSON
    /// twin when the servers must be rewritten.
    fn source_of(&self, page: &str) -> String {
        match page.strip_suffix(".yaml") {
            Some(stem) if self.moved.is_some() && is_asyncapi(page) => format!("{stem}.json"),
            _ => page.to_string(),
        }
    }

    fn apply(&self, page: &str, body: Vec<u8>) -> Result<Vec<u8>, CliError> {
        let Some((from, to)) = &self.moved else {
            return Ok(body);
        };
        if is_asyncapi(page) {
            let mut document: Value = serde_json::from_slice(&body)
                .map_err(|e| CliError(format!("/ui/{} is not a JSON document: {e}", self.source_of(page))))?;
            asyncapi::move_servers(&mut document, to);
            let text = if page.ends_with(".yaml") {
                to_yaml(&document)
            } else {
                serde_json::to_string_pretty(&document).unwrap_or_default()
            };
            return Ok(text.into_bytes());
        }
        if !page.ends_with(".html") {
            return Ok(body);
        }
        let mut text = String::from_utf8_lossy(&body).into_owned();
        let pairs = [
            (Some(&from.public_url), Some(&to.public_url)),
            (from.kafka_bootstrap.as_ref(), to.kafka_bootstrap.as_ref()),
        ];
        for (old, new) in pairs {
            if let (Some(old), Some(new)) = (old, new) {
                if old != new {
                    // As the templates print it, then as it is where that differs (once
                    // only: a new address holding the old one must not be replaced again).
                    let printed = render::as_printed(old);
                    text = text.replace(&printed, &render::as_printed(new));
                    if printed != *old {
                        text = text.replace(old.as_str(), new);
                    }
                }
            }
        }
        Ok(text.into_bytes())
    }
}

/// The whole catalog's AsyncAPI documents and each topic's.
fn is_asyncapi(page: &str) -> bool {
    matches!(page, "asyncapi.json" | "asyncapi.yaml")
        || (page.starts_with("asyncapi/") && (page.ends_with(".json") || page.ends_with(".yaml")))
}

/// The `href` values of a page's own structure, unescaped from HTML. Links people wrote in
/// a topic's description (between the page's description markers, which the sanitiser
/// keeps user content from forging: it drops comments) are theirs, not the site's.
fn links(html: &str) -> Vec<String> {
    let mut page = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!-- herald:description -->") {
        page.push_str(&rest[..start]);
        match rest[start..].find("<!-- /herald:description -->") {
            Some(end) => rest = &rest[start + end..],
            None => {
                rest = "";
                break;
            }
        }
    }
    page.push_str(rest);
    let mut found = Vec::new();
    let mut rest = page.as_str();
    while let Some(at) = rest.find("href=\"") {
        rest = &rest[at + 6..];
        let Some(end) = rest.find('"') else {
            break;
        };
        found.push(
            rest[..end]
                .replace("&amp;", "&")
                .replace("&#x2f;", "/")
                .replace("&#47;", "/"),
        );
        rest = &rest[end..];
    }
    found
}

/// A relative link from `page` as a path under the site's top, or `None` for links that
/// leave the site (absolute URLs, other schemes, fragments, paths above the top).
fn resolve(page: &str, link: &str) -> Option<String> {
    let link = link.split(['#', '?']).next().unwrap_or_default();
    if link.is_empty() || link.starts_with('/') || link.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop();
    for segment in link.split('/') {
        // The site's own file names use only these characters (see `render::path_segment`);
        // anything else is not a page of the site, and must not reach a file path.
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~'))
        {
            return None;
        }
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_against_the_page() {
        assert_eq!(resolve("index.html", "topics/a.html").as_deref(), Some("topics/a.html"));
        assert_eq!(
            resolve("topics/a.html", "../subjects/a-value.html").as_deref(),
            Some("subjects/a-value.html")
        );
        assert_eq!(
            resolve("topics/a.html", "a/changelog/1-2.html#x").as_deref(),
            Some("topics/a/changelog/1-2.html")
        );
        assert_eq!(resolve("index.html", "../escape.html"), None);
        assert_eq!(resolve("index.html", "https://example.com/"), None);
        assert_eq!(resolve("index.html", "#top"), None);
        assert_eq!(resolve("index.html", "/ui/index.html"), None);
        assert_eq!(resolve("topics/a.html", "..\\..\\x.html"), None);
        assert_eq!(resolve("index.html", "a b.html"), None);
        assert_eq!(resolve("index.html", "a%2F.html"), None);
        assert_eq!(
            resolve("index.html", "subjects/a~2Fb.html").as_deref(),
            Some("subjects/a~2Fb.html")
        );
    }

    #[test]
    fn links_in_descriptions_are_not_followed() {
        let page = r#"<a href="a.html">a</a><!-- herald:description --><a href="runbook.html">r</a><!-- /herald:description --><a href="b.html">b</a>"#;
        assert_eq!(links(page), vec!["a.html".to_string(), "b.html".to_string()]);
    }

    #[test]
    fn hrefs_are_found_and_unescaped() {
        assert_eq!(
            links(r#"<a href="a.html">x</a> <link href="b.html?x=1&amp;y=2">"#),
            vec!["a.html".to_string(), "b.html?x=1&y=2".to_string()]
        );
    }
}
