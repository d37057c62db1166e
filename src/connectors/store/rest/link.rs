//! RFC 8288 `Link` headers, as Shopify and WooCommerce paginate with them. Pure: links are
//! found by `rel` value, never by position, and relative targets resolve against the URL of
//! the request that returned them.

use reqwest::Url;

/// One `<target>; param=value; …` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LinkValue<'a> {
    target: &'a str,
    rels: Vec<String>,
}

/// Splits a header into entries. Targets are read up to their closing `>`, so commas inside
/// a URL never split an entry.
fn entries(header: &str) -> Vec<LinkValue<'_>> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let target = &after[..close];
        let params_and_more = &after[close + 1..];
        // Parameters run until the next entry's `<` (a quoted value cannot hold one in
        // practice) and are separated by `;`.
        let end = params_and_more.find('<').unwrap_or(params_and_more.len());
        let params = &params_and_more[..end];
        let mut rels = Vec::new();
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_end_matches(',').trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_ascii_lowercase));
            }
        }
        out.push(LinkValue { target, rels });
        rest = &params_and_more[end..];
    }
    out
}

/// The target of the first link whose `rel` includes `rel`, resolved against `base`.
pub fn link_by_rel(header: &str, rel: &str, base: &Url) -> Option<Url> {
    let rel = rel.to_ascii_lowercase();
    entries(header)
        .into_iter()
        .find(|e| e.rels.contains(&rel))
        .and_then(|e| base.join(e.target.trim()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://h.example/admin/api/2025-07/orders.json?limit=250").unwrap()
    }

    #[test]
    fn finds_links_by_rel_not_position() {
        let h = r#"<https://h.example/admin/api/2025-07/orders.json?limit=250&page_info=prev>; rel="previous", <https://h.example/admin/api/2025-07/orders.json?limit=250&page_info=abc>; rel="next""#;
        let next = link_by_rel(h, "next", &base()).unwrap();
        assert_eq!(next.query(), Some("limit=250&page_info=abc"));
        let prev = link_by_rel(h, "previous", &base()).unwrap();
        assert_eq!(prev.query(), Some("limit=250&page_info=prev"));
        assert_eq!(link_by_rel(h, "last", &base()), None);
    }

    #[test]
    fn resolves_relative_targets_and_odd_spacing() {
        let h = "</wp-json/wc/v3/orders?page=2&per_page=100>;rel=next,<orders?page=9>; REL=\"last prev\"";
        assert_eq!(
            link_by_rel(h, "next", &base()).unwrap().as_str(),
            "https://h.example/wp-json/wc/v3/orders?page=2&per_page=100"
        );
        assert_eq!(
            link_by_rel(h, "prev", &base()).unwrap().as_str(),
            "https://h.example/admin/api/2025-07/orders?page=9"
        );
    }

    #[test]
    fn commas_inside_targets_do_not_split_entries() {
        let h = r#"<https://h.example/x?fields=id,updated_at&page_info=z>; rel="next""#;
        assert_eq!(
            link_by_rel(h, "next", &base()).unwrap().query(),
            Some("fields=id,updated_at&page_info=z")
        );
        assert_eq!(link_by_rel("garbage", "next", &base()), None);
        assert_eq!(
            link_by_rel("<unterminated; rel=next", "next", &base()),
            None
        );
    }
}
