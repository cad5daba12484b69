//! Which Contentful fields fill which unified fields: the `field_map` setting.

use crate::{ConfigError, Settings};

/// The unified fields a Contentful entry fills, each with the Contentful field ids it is read
/// from by default, first present wins.
const DEFAULTS: [(UnifiedField, &[&str]); 7] = [
    (UnifiedField::Title, &["title", "name"]),
    (UnifiedField::Slug, &["slug"]),
    (UnifiedField::Body, &["body", "content"]),
    (
        UnifiedField::Description,
        &["description", "excerpt", "summary"],
    ),
    (
        UnifiedField::FeaturedImage,
        &["featuredImage", "heroImage", "image", "coverImage"],
    ),
    (UnifiedField::Tags, &["tags"]),
    (UnifiedField::Price, &["price"]),
];

/// A unified field that entries fill from their own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnifiedField {
    Title,
    Slug,
    Body,
    Description,
    FeaturedImage,
    Tags,
    Price,
}

impl UnifiedField {
    fn name(self) -> &'static str {
        match self {
            UnifiedField::Title => "title",
            UnifiedField::Slug => "slug",
            UnifiedField::Body => "body",
            UnifiedField::Description => "description",
            UnifiedField::FeaturedImage => "featured_image",
            UnifiedField::Tags => "tags",
            UnifiedField::Price => "price",
        }
    }
}

/// For each unified field, the Contentful field ids it is read from, first present wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldMap(Vec<(UnifiedField, Vec<String>)>);

impl FieldMap {
    /// Reads `field_map`: `unified=contentfulField` pairs separated by commas, alternatives
    /// separated by `|` (`body=articleBody, description=teaser|summary`). Each pair replaces
    /// that unified field's defaults; the fields it does not name keep theirs.
    pub(crate) fn from_settings(settings: &Settings) -> Result<FieldMap, ConfigError> {
        let mut map = DEFAULTS
            .iter()
            .map(|(field, ids)| (*field, ids.iter().map(|id| id.to_string()).collect()))
            .collect::<Vec<(UnifiedField, Vec<String>)>>();
        let Some(raw) = settings.get("field_map") else {
            return Ok(FieldMap(map));
        };
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (unified, ids) = pair.split_once('=').ok_or_else(|| {
                settings.invalid(
                    "field_map",
                    format!("'{pair}' is not of the form unified_field=contentfulField"),
                )
            })?;
            let unified = unified.trim();
            let Some((_, slot)) = map.iter_mut().find(|(f, _)| f.name() == unified) else {
                let known = DEFAULTS.map(|(f, _)| f.name()).join(", ");
                return Err(settings.invalid(
                    "field_map",
                    format!(
                        "'{unified}' is not a unified field Contentful fills; use one of {known}"
                    ),
                ));
            };
            let ids = ids
                .split('|')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>();
            if ids.is_empty() {
                return Err(settings.invalid(
                    "field_map",
                    format!("'{pair}' names no Contentful field for {unified}"),
                ));
            }
            *slot = ids;
        }
        Ok(FieldMap(map))
    }

    /// The Contentful field ids `field` is read from, in order.
    pub(crate) fn ids(&self, field: UnifiedField) -> &[String] {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(&[], |(_, ids)| ids.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(raw: &str) -> Result<FieldMap, ConfigError> {
        FieldMap::from_settings(&Settings::from_table("contentful", [("field_map", raw)]))
    }

    #[test]
    fn pairs_replace_their_defaults_and_keep_the_rest() {
        let m = map("body = articleBody, description=teaser|summary").unwrap();
        assert_eq!(m.ids(UnifiedField::Body), ["articleBody"]);
        assert_eq!(m.ids(UnifiedField::Description), ["teaser", "summary"]);
        assert_eq!(m.ids(UnifiedField::Title), ["title", "name"]);
        let defaults =
            FieldMap::from_settings(&Settings::from_table("contentful", [("locale", "en-US")]))
                .unwrap();
        assert_eq!(defaults.ids(UnifiedField::Body), ["body", "content"]);
    }

    #[test]
    fn unknown_fields_and_empty_pairs_name_the_setting() {
        for raw in ["headline=title", "body", "body=|", "featuredImage=hero"] {
            let err = map(raw).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { setting, .. } if *setting == "field_map"),
                "{raw}: {err}"
            );
        }
        let err = map("headline=title").unwrap_err().to_string();
        assert!(err.contains("featured_image"), "{err}");
    }
}
