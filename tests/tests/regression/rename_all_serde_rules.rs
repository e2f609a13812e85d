//! `rename_all = "lowercase"` / `"UPPERCASE"` dropped the underscores of field names
//! (`gross_weight_kg` became `grossweightkg`). Every rule now follows serde_derive: fields are
//! read as snake_case, variants as PascalCase (unit tests per rule in soa-derive's
//! `internals/case.rs`); this checks the column and variant names that reach the schema.

// The generated row views (`LowerRef`, ..) of the per-rule structs are not used here.
#![allow(dead_code)]

use soa_runtime::arrow::datatypes::DataType;
use soa_runtime::{Soa, ToArrow, UnitEnum};

macro_rules! rule {
    ($rule:literal, $row:ident, $side:ident, $leg:ident) => {
        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        #[soa(rename_all = $rule)]
        pub struct $row {
            pub gross_weight_kg: f64,
            pub id: u32,
        }

        #[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
        #[soa(rename_all = $rule)]
        pub enum $side {
            BuyLimit,
            Sell,
        }

        #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
        #[soa(rename_all = $rule)]
        pub enum $leg {
            BuyLimit { px: f64 },
            Flat,
        }
    };
}

rule!("lowercase", Lower, LowerSide, LowerLeg);
rule!("UPPERCASE", Upper, UpperSide, UpperLeg);
rule!("PascalCase", Pascal, PascalSide, PascalLeg);
rule!("camelCase", Camel, CamelSide, CamelLeg);
rule!("snake_case", Snake, SnakeSide, SnakeLeg);
rule!(
    "SCREAMING_SNAKE_CASE",
    Screaming,
    ScreamingSide,
    ScreamingLeg
);
rule!("kebab-case", Kebab, KebabSide, KebabLeg);
rule!(
    "SCREAMING-KEBAB-CASE",
    ScreamingKebab,
    ScreamingKebabSide,
    ScreamingKebabLeg
);

fn columns<C: ToArrow>() -> Vec<String> {
    C::schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// The child names of a data enum column: `tag`, then one per data-carrying variant.
fn children<T: soa_runtime::ArrowField>() -> Vec<String> {
    match T::data_type() {
        DataType::Struct(fields) => fields.iter().map(|f| f.name().clone()).collect(),
        other => panic!("expected a Struct, got {other}"),
    }
}

#[test]
fn field_names_follow_serde() {
    let expected: [(&str, Vec<String>, [&str; 2]); 8] = [
        (
            "lowercase",
            columns::<LowerSoA>(),
            ["gross_weight_kg", "id"],
        ),
        (
            "UPPERCASE",
            columns::<UpperSoA>(),
            ["GROSS_WEIGHT_KG", "ID"],
        ),
        (
            "PascalCase",
            columns::<PascalSoA>(),
            ["GrossWeightKg", "Id"],
        ),
        ("camelCase", columns::<CamelSoA>(), ["grossWeightKg", "id"]),
        (
            "snake_case",
            columns::<SnakeSoA>(),
            ["gross_weight_kg", "id"],
        ),
        (
            "SCREAMING_SNAKE_CASE",
            columns::<ScreamingSoA>(),
            ["GROSS_WEIGHT_KG", "ID"],
        ),
        (
            "kebab-case",
            columns::<KebabSoA>(),
            ["gross-weight-kg", "id"],
        ),
        (
            "SCREAMING-KEBAB-CASE",
            columns::<ScreamingKebabSoA>(),
            ["GROSS-WEIGHT-KG", "ID"],
        ),
    ];
    for (rule, got, want) in expected {
        assert_eq!(got, want, "{rule}");
    }
}

#[test]
fn variant_names_follow_serde() {
    // (rule, unit enum variants, data enum children, expected names)
    type Case = (
        &'static str,
        &'static [&'static str],
        Vec<String>,
        [&'static str; 2],
    );
    let expected: [Case; 8] = [
        (
            "lowercase",
            LowerSide::VARIANTS,
            children::<LowerLeg>(),
            ["buylimit", "sell"],
        ),
        (
            "UPPERCASE",
            UpperSide::VARIANTS,
            children::<UpperLeg>(),
            ["BUYLIMIT", "SELL"],
        ),
        (
            "PascalCase",
            PascalSide::VARIANTS,
            children::<PascalLeg>(),
            ["BuyLimit", "Sell"],
        ),
        (
            "camelCase",
            CamelSide::VARIANTS,
            children::<CamelLeg>(),
            ["buyLimit", "sell"],
        ),
        (
            "snake_case",
            SnakeSide::VARIANTS,
            children::<SnakeLeg>(),
            ["buy_limit", "sell"],
        ),
        (
            "SCREAMING_SNAKE_CASE",
            ScreamingSide::VARIANTS,
            children::<ScreamingLeg>(),
            ["BUY_LIMIT", "SELL"],
        ),
        (
            "kebab-case",
            KebabSide::VARIANTS,
            children::<KebabLeg>(),
            ["buy-limit", "sell"],
        ),
        (
            "SCREAMING-KEBAB-CASE",
            ScreamingKebabSide::VARIANTS,
            children::<ScreamingKebabLeg>(),
            ["BUY-LIMIT", "SELL"],
        ),
    ];
    for (rule, unit, data, want) in expected {
        assert_eq!(unit, want, "unit enum, {rule}");
        // The data enum's children: the tag, then only `BuyLimit` (a unit variant has no child).
        assert_eq!(data, ["tag", want[0]], "data enum, {rule}");
    }
}

#[test]
fn values_round_trip_under_a_rule() {
    let soa: KebabSoA = vec![Kebab {
        gross_weight_kg: 12.5,
        id: 3,
    }]
    .into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(KebabSoA::from_record_batch(&batch).unwrap(), soa);
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq, Default)]
pub struct PostalAddress {
    pub street_name: String,
    pub zip_code: u32,
}

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(rename_all = "camelCase")]
pub struct Parcel {
    pub parcel_id: u64,
    #[soa(flatten)]
    pub ship_to: PostalAddress,
}

/// Under `camelCase` a flattened field's prefix is renamed like any column (`shipTo`), the
/// separator stays `_`, and the inner names follow the inner struct's own attributes (none
/// here, so snake_case): `shipTo_street_name`.
#[test]
fn flatten_under_camel_case() {
    assert_eq!(
        columns::<ParcelSoA>(),
        ["parcelId", "shipTo_street_name", "shipTo_zip_code"]
    );
    let soa: ParcelSoA = vec![Parcel {
        parcel_id: 9,
        ship_to: PostalAddress {
            street_name: "Rue de Rivoli".into(),
            zip_code: 75001,
        },
    }]
    .into();
    let batch = soa.to_record_batch().unwrap();
    assert_eq!(ParcelSoA::from_record_batch(&batch).unwrap(), soa);
}
