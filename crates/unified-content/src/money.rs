//! Exact money amounts.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most significant digits an amount may have and still be read exactly by JavaScript,
/// whose numbers are IEEE 754 doubles (15 decimal digits always round-trip).
pub const MAX_SIGNIFICANT_DIGITS: u32 = 15;

/// An exact decimal amount of money, such as `29.99`.
///
/// Amounts are held as decimals, never as binary floats, so no output ever shows artefacts
/// such as `29.990000000000002`. They serialize as JSON numbers (integers when whole) and
/// deserialize from JSON numbers or from strings, the form Shopify sends.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(Decimal);

/// Why a text could not be read as an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The text is not a decimal number.
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Wraps a decimal, dropping trailing zeros so equal amounts compare and print equally.
    pub fn new(value: Decimal) -> Self {
        Amount(value.normalize())
    }

    /// The decimal value.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// How many significant digits the amount has (`29.99` has 4, `0.05` has 1).
    pub fn significant_digits(self) -> u32 {
        let mantissa = self.0.mantissa().unsigned_abs();
        if mantissa == 0 {
            1
        } else {
            mantissa.ilog10() + 1
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        Decimal::from_str_exact(trimmed)
            .or_else(|_| Decimal::from_scientific(trimmed))
            .map(Amount::new)
            .map_err(|_| AmountError::NotANumber(s.to_string()))
    }
}

impl From<i64> for Amount {
    fn from(value: i64) -> Self {
        Amount::new(Decimal::from(value))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.scale() == 0
            && let Some(whole) = self.0.to_i64()
        {
            return serializer.serialize_i64(whole);
        }
        // A decimal of at most 15 significant digits maps to the double nearest to it, and the
        // shortest text that reads back as that double is the decimal itself, so the JSON
        // number printed here is exact. Validation rejects longer amounts.
        match self.0.to_f64() {
            Some(float) if self.significant_digits() <= MAX_SIGNIFICANT_DIGITS => {
                serializer.serialize_f64(float)
            }
            _ => serializer.serialize_str(&self.0.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a number or a string")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount::from(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount::new(Decimal::from(v)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                if !v.is_finite() {
                    return Err(E::custom("amount is not a finite number"));
                }
                // Rust prints the shortest text that reads back as this double: the amount the
                // sender wrote, not its binary approximation.
                v.to_string().parse().map_err(E::custom)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

impl schemars::JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "description": "An exact decimal amount of money in the currency's major unit."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_without_float_artefacts() {
        let total = "19.99".parse::<Amount>().unwrap().decimal()
            + "10.00".parse::<Amount>().unwrap().decimal();
        let json = serde_json::to_string(&Amount::new(total)).unwrap();
        assert_eq!(json, "29.99");
        assert_eq!(serde_json::to_string(&Amount::from(30)).unwrap(), "30");
        let read: Amount = serde_json::from_str("29.990000000000002").unwrap();
        assert_eq!(read.to_string(), "29.990000000000002");
        assert!(read.significant_digits() > MAX_SIGNIFICANT_DIGITS);
    }

    #[test]
    fn amounts_read_from_strings_and_numbers() {
        let from_str: Amount = serde_json::from_str("\"29.90\"").unwrap();
        let from_num: Amount = serde_json::from_str("29.9").unwrap();
        assert_eq!(from_str, from_num);
        assert_eq!(serde_json::to_string(&from_str).unwrap(), "29.9");
        assert!(serde_json::from_str::<Amount>("\"abc\"").is_err());
        assert!("-1".parse::<Amount>().unwrap().is_negative());
        assert!(!"0".parse::<Amount>().unwrap().is_negative());
    }
}
