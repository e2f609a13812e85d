//! `#[soa(rename_all = "...")]` rules. Field names are taken as snake_case, variant names as
//! PascalCase, as Rust style has them.

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

impl RenameRule {
    pub fn parse(name: &str) -> Option<Self> {
        RULES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    /// Words of a snake_case or PascalCase name.
    fn words(name: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut current = String::new();
        for c in name.chars() {
            if c == '_' {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            } else if c.is_uppercase() && !current.is_empty() {
                words.push(std::mem::take(&mut current));
                current.push(c);
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
        words
    }

    pub fn apply(self, name: &str) -> String {
        let words = Self::words(name);
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let capital = |w: &String| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        match self {
            RenameRule::Lower => lower.concat(),
            RenameRule::Upper => lower.concat().to_uppercase(),
            RenameRule::Pascal => lower.iter().map(capital).collect(),
            RenameRule::Camel => lower
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.clone() } else { capital(w) })
                .collect(),
            RenameRule::Snake => lower.join("_"),
            RenameRule::ScreamingSnake => lower.join("_").to_uppercase(),
            RenameRule::Kebab => lower.join("-"),
            RenameRule::ScreamingKebab => lower.join("-").to_uppercase(),
        }
    }
}
