//! Validation of unified content, with errors that name the item, the field and the rule.

use std::fmt;

use crate::model::{MediaAsset, Price, UnifiedContent};
use crate::money::{Amount, MAX_SIGNIFICANT_DIGITS};
use crate::slug::is_valid_slug;

/// The rule a field broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A required text is empty.
    Required,
    /// A slug is not lowercase letters, digits and hyphens.
    SlugPattern,
    /// A currency code is not three capital letters.
    CurrencyCode,
    /// An amount is negative.
    NonNegative,
    /// An amount has more significant digits than JavaScript can hold exactly.
    Precision,
    /// A timestamp is before another it must follow.
    TimeOrder,
}

impl Rule {
    /// What the rule demands, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::Required => "must not be empty",
            Rule::SlugPattern => "must match ^[a-z0-9-]+$ (lowercase letters, digits, hyphens)",
            Rule::CurrencyCode => "must be an ISO 4217 code of three capital letters, like EUR",
            Rule::NonNegative => "must be zero or more",
            Rule::Precision => "must have at most 15 significant digits",
            Rule::TimeOrder => "must not be before created_at",
        }
    }
}

/// One broken rule on one field of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The id of the item.
    pub item_id: String,
    /// The path of the field, such as `variants[1].price.currency_code`.
    pub field: String,
    /// The rule broken.
    pub rule: Rule,
    /// The offending value, shortened.
    pub value: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "item '{}': field '{}' {} (got {})",
            self.item_id,
            self.field,
            self.rule.describe(),
            self.value
        )
    }
}

impl std::error::Error for ValidationError {}

/// Every rule an item broke, in field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// The first error; there is always one.
    pub fn first(&self) -> &ValidationError {
        &self.0[0]
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

struct Checker<'a> {
    item_id: &'a str,
    errors: Vec<ValidationError>,
}

impl Checker<'_> {
    fn fail(&mut self, field: impl Into<String>, rule: Rule, value: impl fmt::Display) {
        let mut value = format!("{value:?}", value = value.to_string());
        if value.len() > 80 {
            let cut = (0..=77)
                .rev()
                .find(|i| value.is_char_boundary(*i))
                .unwrap_or(0);
            value.truncate(cut);
            value.push_str("...");
        }
        self.errors.push(ValidationError {
            item_id: self.item_id.to_string(),
            field: field.into(),
            rule,
            value,
        });
    }

    fn required(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(field, Rule::Required, value);
        }
    }

    fn amount(&mut self, field: String, amount: Amount) {
        if amount.is_negative() {
            self.fail(field, Rule::NonNegative, amount);
        } else if amount.significant_digits() > MAX_SIGNIFICANT_DIGITS {
            self.fail(field, Rule::Precision, amount);
        }
    }

    fn price(&mut self, path: &str, price: &Price) {
        self.amount(format!("{path}.amount"), price.amount);
        if let Some(compare) = price.compare_at_amount {
            self.amount(format!("{path}.compare_at_amount"), compare);
        }
        let code = &price.currency_code;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            self.fail(format!("{path}.currency_code"), Rule::CurrencyCode, code);
        }
    }

    fn media(&mut self, path: &str, media: &MediaAsset) {
        self.required(&format!("{path}.id"), &media.id);
        self.required(&format!("{path}.url"), &media.url);
    }
}

impl UnifiedContent {
    /// Checks every rule of the model and reports all that are broken.
    ///
    /// Negative inventory is valid (shops oversell); negative amounts are not.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut c = Checker {
            item_id: if self.id.is_empty() {
                "<no id>"
            } else {
                &self.id
            },
            errors: Vec::new(),
        };
        c.required("id", &self.id);
        c.required("title", &self.title);
        if !is_valid_slug(&self.slug) {
            c.fail("slug", Rule::SlugPattern, &self.slug);
        }
        c.required("provider_name", &self.provider_name);
        if let Some(m) = &self.featured_image {
            c.media("featured_image", m);
        }
        for (i, m) in self.images.iter().enumerate() {
            c.media(&format!("images[{i}]"), m);
        }
        if let Some(p) = &self.price {
            c.price("price", p);
        }
        for (i, v) in self.variants.iter().enumerate() {
            c.required(&format!("variants[{i}].id"), &v.id);
            c.price(&format!("variants[{i}].price"), &v.price);
        }
        for (i, t) in self.tags.iter().enumerate() {
            c.required(&format!("tags[{i}]"), t);
        }
        if self.updated_at < self.created_at {
            c.fail("updated_at", Rule::TimeOrder, self.updated_at.to_rfc3339());
        }
        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(c.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::*;

    pub(crate) fn product() -> UnifiedContent {
        serde_json::from_value(serde_json::json!({
            "id": "gid://shopify/Product/1",
            "title": "  Mug ",
            "slug": "mug",
            "content_type": "product",
            "price": {"amount": "12.50", "currency_code": "EUR"},
            "inventory": {"quantity": -3, "track_quantity": true},
            "variants": [{"id": "v1", "title": "Default", "price": {"amount": 12.5, "currency_code": "EUR"}}],
            "tags": [" a ", ""],
            "provider_type": "ecommerce",
            "provider_name": "shopify",
            "created_at": "2026-01-01T10:00:00+02:00",
            "updated_at": "2026-01-02T10:00:00.250+02:00",
            "synced_at": "2026-01-02T09:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn valid_item_with_negative_inventory_passes() {
        let mut item = product();
        item.normalize();
        assert_eq!(item.title, "Mug");
        assert_eq!(item.tags, vec!["a"]);
        assert_eq!(item.status, ContentStatus::Published);
        item.validate().unwrap();
        let json = serde_json::to_value(&item).unwrap();
        assert_eq!(json["created_at"], "2026-01-01T08:00:00Z");
        assert_eq!(json["updated_at"], "2026-01-02T08:00:00.250Z");
        assert_eq!(json["price"]["amount"], serde_json::json!(12.5));
    }

    #[test]
    fn errors_name_item_field_and_rule() {
        let mut item = product();
        item.slug = "Bad Slug".into();
        item.variants[0].price.currency_code = "eur".into();
        item.price.as_mut().unwrap().amount = "-1".parse().unwrap();
        let errors = item.validate().unwrap_err();
        let text = errors.to_string();
        assert_eq!(errors.0.len(), 4, "{text}");
        assert!(text.contains("field 'tags[1]' must not be empty"), "{text}");
        assert!(
            text.contains("item 'gid://shopify/Product/1': field 'slug' must match"),
            "{text}"
        );
        assert!(
            text.contains("field 'price.amount' must be zero or more (got \"-1\")"),
            "{text}"
        );
        assert!(
            text.contains("field 'variants[0].price.currency_code'"),
            "{text}"
        );
    }
}
