//! `#[soa(crate = "..")]` through a re-exporting crate: this package depends on `soa-reexport`
//! only, so every runtime path in the generated code must come from the attribute.

use soa_reexport::soa_rt::ToArrow;
use soa_reexport_user::{Event, Geo, Pair, PairSoA, Side, Tick, TickSoA};

fn ticks() -> Vec<Tick> {
    (0..4u32)
        .map(|i| Tick {
            tick_id: u64::from(i),
            symbol: format!("S{i}"),
            note: (i % 2 == 1).then(|| "late".to_owned()),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            event: match i % 3 {
                0 => Event::Idle,
                1 => Event::Fill {
                    price: f64::from(i) * 1.5,
                },
                _ => Event::Note(format!("n{i}")),
            },
            place: Geo {
                lat: f64::from(i),
                lon: 1.0,
            },
            origin: Geo {
                lat: -1.0,
                lon: f64::from(i),
            },
            venue: "XPAR".to_owned(),
            ts: 1_700_000_000_000 + i64::from(i),
            scratch: Vec::new(),
        })
        .collect()
}

#[test]
fn derives_through_a_reexported_runtime() {
    let rows = ticks();
    let soa: TickSoA = rows.clone().into();
    let schema = TickSoA::schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "tickId",
            "symbol",
            "note",
            "side",
            "event",
            "place",
            "origin_lat",
            "origin_lon",
            "venue",
            "ts"
        ]
    );
    let batch = soa.into_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 4);
    let back = TickSoA::try_from_record_batch(batch).unwrap();
    assert_eq!(back.into_rows(), rows);
}

#[test]
fn generic_struct_through_a_reexported_runtime() {
    let rows = vec![Pair { a: 1i32, b: None }, Pair { a: -2, b: Some(7) }];
    let soa: PairSoA<i32> = rows.clone().into();
    let batch = soa.to_record_batch().unwrap();
    let back = PairSoA::<i32>::from_record_batch(&batch).unwrap();
    assert_eq!(back.into_rows(), rows);
}
