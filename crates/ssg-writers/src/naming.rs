//! The names a site sees for each content type, the same in every engine.
//!
//! A content type's collection name is Eleventy's data key (`fetched.products`), Astro's
//! collection (`getCollection("products")`), and Next's index file and entry folder
//! (`products.json`, `products/`). The wire names stay as they are; only the `collection` type
//! gets another name, `productCollections`, because `collections` would sit next to Astro's
//! `export const collections` and read as "all collections".

use unified_content::ContentType;

/// The names of one content type in the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// The collection name: data key, Astro collection, folder and index file, such as
    /// `productCollections`.
    pub collection: &'static str,
    /// The TypeScript type of one entry, such as `ProductCollection`.
    pub type_name: &'static str,
    /// The plural in helper names, such as `ProductCollections` in
    /// `getAllProductCollections()`.
    pub type_plural: &'static str,
}

/// The names of `content_type`.
pub fn names(content_type: ContentType) -> Names {
    let (collection, type_name, type_plural) = match content_type {
        ContentType::Product => ("products", "Product", "Products"),
        ContentType::Article => ("articles", "Article", "Articles"),
        ContentType::Page => ("pages", "Page", "Pages"),
        ContentType::Collection => (
            "productCollections",
            "ProductCollection",
            "ProductCollections",
        ),
        ContentType::Media => ("media", "Media", "Media"),
    };
    Names {
        collection,
        type_name,
        type_plural,
    }
}

/// The collection name of `content_type`: folder, index file, data key and Astro collection.
pub fn collection_name(content_type: ContentType) -> &'static str {
    names(content_type).collection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_javascript_identifiers_that_clash_with_nothing_astro_exports() {
        let all: Vec<Names> = ContentType::ALL.into_iter().map(names).collect();
        for (i, n) in all.iter().enumerate() {
            assert!(n.collection.chars().all(|c| c.is_ascii_alphanumeric()));
            assert_ne!(n.collection, "collections");
            assert!(all[i + 1..].iter().all(|m| m.collection != n.collection));
        }
    }
}
