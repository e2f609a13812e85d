//! Property test: arbitrary rows (unicode, empty strings, nulls, extreme values) round-trip.

use proptest::prelude::*;
use soa_runtime::ToArrow;
use soa_tests::{Order, OrderSoA, Side};

fn order() -> impl Strategy<Value = Order> {
    (
        any::<u64>(),
        any::<u32>(),
        ".{0,12}",
        any::<bool>(),
        any::<u32>(),
        any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()),
        any::<bool>(),
        proptest::option::of(".{0,8}"),
        any::<i64>(),
    )
        .prop_map(
            |(order_id, customer_id, symbol, buy, quantity, unit_price, filled, note, ts)| Order {
                order_id,
                customer_id,
                symbol,
                side: if buy { Side::Buy } else { Side::Sell },
                quantity,
                unit_price,
                filled,
                note,
                ts_micros: ts,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn round_trip(rows in proptest::collection::vec(order(), 0..40)) {
        let soa: OrderSoA = rows.clone().into();
        let batch = soa.to_record_batch().unwrap();
        prop_assert_eq!(OrderSoA::from_record_batch(&batch).unwrap().into_rows(), rows.clone());
        prop_assert_eq!(OrderSoA::rows_from_record_batch(&batch).unwrap(), rows.clone());
        let moved = soa.into_record_batch().unwrap();
        prop_assert_eq!(OrderSoA::try_from_record_batch(moved).unwrap().into_rows(), rows);
    }
}
