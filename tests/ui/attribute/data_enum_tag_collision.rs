use soa_runtime::ToArrow;

#[derive(ToArrow, Debug, Clone, PartialEq)]
#[soa(rename_all = "lowercase")]
enum Step {
    Tag(u8),
    Skip,
}

#[derive(ToArrow, Debug, Clone, PartialEq)]
enum Mark {
    #[soa(rename = "tag")]
    Label { text: String },
    #[soa(rename = "tag2")]
    Other(u8),
}

#[derive(ToArrow, Debug, Clone, Copy, PartialEq)]
#[soa(rename_all = "lowercase")]
enum UnitOnly {
    Tag,
    Free,
}

fn main() {}
