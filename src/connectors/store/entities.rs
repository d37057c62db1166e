//! Text as the store means it, pure. WooCommerce (WordPress) hands out names with HTML
//! character references in them: `esc_html` and the editor store `&amp;`, `&lt;`,
//! `&quot;`, `&#039;`; `wptexturize` writes dashes, quotes and ellipses as `&#8211;`,
//! `&#8217;`, `&#8230;`; variation titles use `&ndash;`; plugins add hex forms like
//! `&#x27;`. They are decoded once (so `&amp;amp;` stays `&amp;`, as the store displays
//! it), with every HTML5 named reference, decimal and hex; text that is not a reference
//! (`AT&T`, `&unknown;`) is kept as it is.
//!
//! Shopify and Magento send the text as the merchant typed it (their JSON escapes nothing
//! and both escape only when rendering HTML), so their connectors do not decode.

/// `text` with its HTML character references decoded.
pub fn decode(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::connectors::store::woocommerce;

    #[test]
    fn wordpress_references_decode_once_and_the_rest_stays() {
        let table = [
            ("Product 023 &ndash; SKU-023-0", "Product 023 – SKU-023-0"),
            (
                "Ship Your Idea &#8211; Color: Black",
                "Ship Your Idea – Color: Black",
            ),
            ("Fish &amp; Chips", "Fish & Chips"),
            ("Men&#x27;s Tee", "Men's Tee"),
            ("O&#039;Reilly", "O'Reilly"),
            ("&#8220;Lucky&#8221; Hoodie&#8230;", "“Lucky” Hoodie…"),
            ("Baker&#8217;s Dozen", "Baker’s Dozen"),
            ("2 &times; 3 &mdash; &euro;5", "2 × 3 — €5"),
            (
                "&lt;b&gt;Bold&lt;/b&gt; &quot;tag&quot;",
                "<b>Bold</b> \"tag\"",
            ),
            ("A&amp;amp;B", "A&amp;B"),
            ("AT&T", "AT&T"),
            ("&unknown; & more", "&unknown; & more"),
            ("Plain name", "Plain name"),
            ("", ""),
        ];
        for (text, want) in table {
            assert_eq!(decode(text), want, "{text:?}");
        }
    }

    #[test]
    fn woocommerce_names_reach_the_model_decoded() {
        // From the REST v3 order sample of the WooCommerce docs, and a product as the
        // store lists it.
        let order = json!({"id": 727, "number": "727", "status": "processing",
            "currency": "USD", "total": "29.35", "date_created_gmt": "2026-11-20T15:01:02",
            "date_modified_gmt": "2026-11-20T15:03:10", "customer_id": 0,
            "billing": {"first_name": "Zo&euml;", "last_name": "O&#039;Brien",
                "email": "zoe@example.com"},
            "line_items": [{"id": 316, "name": "Ship Your Idea &ndash; Color: Black, Size: M Test",
                "product_id": 22, "variation_id": 23, "quantity": 1, "sku": "Bar3",
                "price": 12}]});
        let o = woocommerce::order(&order).unwrap();
        assert_eq!(
            o.line_items[0].name,
            "Ship Your Idea – Color: Black, Size: M Test"
        );
        let c = o.customer.unwrap();
        assert_eq!(
            (c.first_name.as_deref(), c.last_name.as_deref()),
            (Some("Zoë"), Some("O'Brien"))
        );
        let product = json!({"id": 23, "name": "Product 023 &ndash; SKU-023-0",
            "sku": "SKU-023-0", "price": "12.00", "date_modified_gmt": "2026-11-20T15:03:10"});
        assert_eq!(
            woocommerce::product(&product).unwrap().name,
            "Product 023 – SKU-023-0"
        );
        let customer = json!({"id": 25, "first_name": "Ren&eacute;", "last_name": "D&#x27;Arc",
            "email": "rene@example.com", "date_modified_gmt": "2026-11-20T15:03:10"});
        let c = woocommerce::customer(&customer).unwrap();
        assert_eq!(c.first_name.as_deref(), Some("René"));
        assert_eq!(c.last_name.as_deref(), Some("D'Arc"));
        // The SKU and e-mail are identifiers, not display text: left as sent.
        let sku = json!({"id": 24, "name": "X", "sku": "A&amp;B",
            "date_modified_gmt": "2026-11-20T15:03:10"});
        assert_eq!(
            woocommerce::product(&sku).unwrap().variants[0]
                .sku
                .as_deref(),
            Some("A&amp;B")
        );
    }
}
