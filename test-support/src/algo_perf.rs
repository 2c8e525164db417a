//! algo-perf figures compared as a pool receives them: a rate that crossed JSON may change in
//! its last bit.

use phirig_pool::protocol::AlgoPerf;

/// How far apart (relative) two rates may be and still be the same figure: serde_json's default
/// float parsing is not exact, so the sum of two parsed rates can read back one bit off.
const SAME: f64 = 1e-9;

/// The same rate, up to the last bits a JSON hop may change.
pub fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME * a.abs().max(b.abs())
}

/// The same algorithms at the same rates, up to the last bits a JSON hop may change.
pub fn same_perf(a: &AlgoPerf, b: &AlgoPerf) -> bool {
    a.iter().count() == b.iter().count()
        && a.iter()
            .zip(b.iter())
            .all(|((x, hx), (y, hy))| x == y && same_rate(hx, hy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(pico: f64, lite: f64) -> AlgoPerf {
        AlgoPerf::new([
            ("cn-pico".to_string(), pico),
            ("cn-lite/1".to_string(), lite),
        ])
    }

    #[test]
    fn a_last_bit_is_the_same_figure_and_anything_more_is_not() {
        let x = 961.175_748_098_983_5;
        assert!(same_perf(
            &perf(x, 50.0),
            &perf(f64::from_bits(x.to_bits() + 1), 50.0)
        ));
        assert!(!same_perf(&perf(x, 50.0), &perf(x * 1.001, 50.0)));
        let pico_only = AlgoPerf::new([("cn-pico".to_string(), x)]);
        assert!(!same_perf(&perf(x, 50.0), &pico_only));
    }
}
