//! `#[soa(rename_all = "...")]` rules, with serde_derive's semantics exactly: a field name is read
//! as snake_case (`gross_weight_kg`), a variant name as PascalCase (`BuyLimit`), and each rule
//! rewrites that input the way `serde_derive::internals::case` does (`apply_to_field` /
//! `apply_to_variant`), so a struct renamed for serde and for soa gets the same names.
//!
//! The only difference: serde slices the first byte for `camelCase` and would panic on a name
//! starting with a non-ASCII letter; here the first *char* is lowercased (ASCII only, as serde),
//! which gives the same result for every name serde accepts.

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

pub const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

/// `s` with its first char ASCII-lowercased.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

impl RenameRule {
    pub fn parse(name: &str) -> Option<Self> {
        RULES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    /// A struct field's column name (the input is snake_case, as Rust style has it).
    pub fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::Camel => lower_first(&RenameRule::Pascal.apply_to_field(field)),
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }

    /// An enum variant's stored name (the input is PascalCase, as Rust style has it).
    pub fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => lower_first(variant),
            RenameRule::Snake => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            RenameRule::ScreamingSnake => RenameRule::Snake
                .apply_to_variant(variant)
                .to_ascii_uppercase(),
            RenameRule::Kebab => RenameRule::Snake
                .apply_to_variant(variant)
                .replace('_', "-"),
            RenameRule::ScreamingKebab => RenameRule::ScreamingSnake
                .apply_to_variant(variant)
                .replace('_', "-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule::{self, *};

    /// Every rule, in `RULES` order, on a field and on a variant; expected values are what
    /// serde_derive 1.0.229 produces (its `rename_fields` / `rename_variants` tests plus ours).
    #[test]
    fn every_rule_is_in_the_table() {
        let names: Vec<RenameRule> = super::RULES.iter().map(|(_, r)| *r).collect();
        assert_eq!(
            names,
            [
                Lower,
                Upper,
                Pascal,
                Camel,
                Snake,
                ScreamingSnake,
                Kebab,
                ScreamingKebab
            ]
        );
    }

    #[test]
    fn fields_follow_serde() {
        // (input, lowercase, UPPERCASE, PascalCase, camelCase, snake_case, SCREAMING_SNAKE_CASE,
        //  kebab-case, SCREAMING-KEBAB-CASE)
        let cases: &[[&str; 9]] = &[
            [
                "gross_weight_kg",
                "gross_weight_kg",
                "GROSS_WEIGHT_KG",
                "GrossWeightKg",
                "grossWeightKg",
                "gross_weight_kg",
                "GROSS_WEIGHT_KG",
                "gross-weight-kg",
                "GROSS-WEIGHT-KG",
            ],
            [
                "outcome", "outcome", "OUTCOME", "Outcome", "outcome", "outcome", "OUTCOME",
                "outcome", "OUTCOME",
            ],
            [
                "very_tasty",
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "very_tasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ],
            ["a", "a", "A", "A", "a", "a", "A", "a", "A"],
            [
                "z42", "z42", "Z42", "Z42", "z42", "z42", "Z42", "z42", "Z42",
            ],
            // Digits after `_` and a double `_`: serde capitalizes nothing there and drops the
            // underscores for Pascal/camel only.
            [
                "leg_2_px", "leg_2_px", "LEG_2_PX", "Leg2Px", "leg2Px", "leg_2_px", "LEG_2_PX",
                "leg-2-px", "LEG-2-PX",
            ],
            [
                "a__b", "a__b", "A__B", "AB", "aB", "a__b", "A__B", "a--b", "A--B",
            ],
        ];
        for case in cases {
            let input = case[0];
            for ((name, rule), expected) in super::RULES.iter().zip(&case[1..]) {
                assert_eq!(
                    rule.apply_to_field(input),
                    *expected,
                    "field {input:?} with {name}"
                );
            }
        }
    }

    #[test]
    fn variants_follow_serde() {
        // (input, lowercase, UPPERCASE, PascalCase, camelCase, snake_case, SCREAMING_SNAKE_CASE,
        //  kebab-case, SCREAMING-KEBAB-CASE)
        let cases: &[[&str; 9]] = &[
            [
                "BuyLimit",
                "buylimit",
                "BUYLIMIT",
                "BuyLimit",
                "buyLimit",
                "buy_limit",
                "BUY_LIMIT",
                "buy-limit",
                "BUY-LIMIT",
            ],
            [
                "Outcome", "outcome", "OUTCOME", "Outcome", "outcome", "outcome", "OUTCOME",
                "outcome", "OUTCOME",
            ],
            [
                "VeryTasty",
                "verytasty",
                "VERYTASTY",
                "VeryTasty",
                "veryTasty",
                "very_tasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ],
            ["A", "a", "A", "A", "a", "a", "A", "a", "A"],
            [
                "Z42", "z42", "Z42", "Z42", "z42", "z42", "Z42", "z42", "Z42",
            ],
            // Every capital starts a word, acronyms included (serde's rule, not a smarter one).
            [
                "HTTPGet",
                "httpget",
                "HTTPGET",
                "HTTPGet",
                "hTTPGet",
                "h_t_t_p_get",
                "H_T_T_P_GET",
                "h-t-t-p-get",
                "H-T-T-P-GET",
            ],
        ];
        for case in cases {
            let input = case[0];
            for ((name, rule), expected) in super::RULES.iter().zip(&case[1..]) {
                assert_eq!(
                    rule.apply_to_variant(input),
                    *expected,
                    "variant {input:?} with {name}"
                );
            }
        }
    }

    #[test]
    fn non_ascii_names_do_not_panic() {
        assert_eq!(Camel.apply_to_variant("Élan"), "Élan");
        assert_eq!(Camel.apply_to_field("é_x"), "éX");
        assert_eq!(Snake.apply_to_variant("ÉlanVital"), "Élan_vital");
    }
}
