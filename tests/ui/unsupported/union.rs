use soa_runtime::Soa;

#[derive(Soa)]
union Bits {
    i: u32,
    f: f32,
}

fn main() {}
