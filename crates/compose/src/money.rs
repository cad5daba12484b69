//! Exact money: US dollars in units of 10^-16, so every price of the table (at most 10
//! decimals per unit, 4 per million) is a whole number and no sum is a binary float.

use serde::{Serialize, Serializer};

const SCALE_DIGITS: u32 = 16;
const SCALE: u128 = 10u128.pow(SCALE_DIGITS);

/// An amount of US dollars, exact to 10^-16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(u128);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// Reads a non-negative decimal such as `0.0000133334`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Money> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || fraction.len() > SCALE_DIGITS as usize
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: u128 = whole.parse().ok()?;
        let mut frac: u128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().ok()?
        };
        frac = frac.checked_mul(10u128.pow(SCALE_DIGITS - fraction.len() as u32))?;
        whole.checked_mul(SCALE)?.checked_add(frac).map(Money)
    }

    /// This amount times `count`, divided by `per` (a price per million, say); `None` on
    /// overflow.
    pub fn times(self, count: u128, per: u128) -> Option<Money> {
        self.0.checked_mul(count)?.checked_div(per).map(Money)
    }

    /// The sum; `None` on overflow.
    pub fn plus(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The amount rounded half up to `digits` decimals, as text.
    pub fn rounded(self, digits: u32) -> String {
        let unit = 10u128.pow(SCALE_DIGITS - digits);
        let units = (self.0 + unit / 2) / unit;
        let scale = 10u128.pow(digits);
        if digits == 0 {
            return units.to_string();
        }
        format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = digits as usize
        )
    }

    /// The exact amount as a decimal text without trailing zeros.
    pub fn exact(self) -> String {
        let text = format!("{}.{:016}", self.0 / SCALE, self.0 % SCALE);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.rounded(2))
    }
}

/// As a JSON string with cents, so no reader turns it into a binary float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rounded(2))
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn parses_and_rounds_exactly() {
        let p = Money::parse("0.0000133334").unwrap();
        assert_eq!(p.exact(), "0.0000133334");
        assert_eq!(Money::parse("3.50").unwrap().rounded(2), "3.50");
        assert_eq!(Money::parse("0.005").unwrap().rounded(2), "0.01");
        assert_eq!(Money::parse("0.004").unwrap().rounded(2), "0.00");
        assert_eq!(Money::parse("12").unwrap().to_string(), "$12.00");
        for bad in ["", "-1", "1e3", "1.2.3", ".5", "0.00000000000000001"] {
            assert_eq!(Money::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn overflow_is_none() {
        let big = Money::parse("1000000000000000000000").unwrap();
        assert_eq!(big.times(u128::MAX, 1), None);
        assert_eq!(Money(u128::MAX).plus(Money(1)), None);
    }
}
