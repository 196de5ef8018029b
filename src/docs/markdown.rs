//! Topic descriptions are Markdown written by people; pages show them rendered and
//! sanitised. pulldown-cmark renders, ammonia then keeps only harmless HTML (no scripts,
//! no event handlers, no `javascript:` links), whatever the Markdown let through.

use pulldown_cmark::{html, Event, Options, Parser, TagEnd};

/// Markdown to safe HTML.
pub fn render_markdown(text: &str) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    let parser = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

/// The first paragraph as plain text, for one-line summaries in lists.
pub fn first_paragraph(text: &str) -> String {
    let mut out = String::new();
    for event in Parser::new(text) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if !out.trim().is_empty() => break,
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered() {
        let html = render_markdown("A **payment** was [captured](https://example.com/p).\n\n- one\n- two");
        assert!(html.contains("<strong>payment</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com/p" rel="noopener noreferrer nofollow">captured</a>"#),
            "{html}"
        );
        assert!(html.contains("<li>one</li>"), "{html}");
    }

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = render_markdown(
            "<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> \
             <a href=\"javascript:alert(4)\">y</a> <iframe src=\"https://evil\"></iframe>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("<iframe"), "{html}");
        let link = render_markdown("Read [this](javascript:alert(5)) and [that](JaVaScRiPt:alert(6)).");
        assert!(
            link.contains(">this</a>") && !link.to_lowercase().contains("javascript:"),
            "{link}"
        );
    }

    #[test]
    fn the_first_paragraph_is_plain_text() {
        assert_eq!(
            first_paragraph("A *customer's* payment\nwas `captured`.\n\nMore detail."),
            "A customer's payment was captured."
        );
        assert_eq!(first_paragraph(""), "");
    }
}
