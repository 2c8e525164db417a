//! Hash rates as xmrig's documents carry them: H/s over 10 s, 60 s and 15 min, to 0.01 H/s.

/// `[10 s, 60 s, 15 min]` in H/s; `None` (`null` on the wire) while a window is not full yet.
pub type Rates = [Option<f64>; 3];

/// Rounds to the hundredth, as xmrig prints rates.
pub fn round_rate(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Each window rounded; a non-finite rate becomes `None`, which is what JSON can carry.
pub fn rounded_rates(r: Rates) -> Rates {
    r.map(|x| x.filter(|v| v.is_finite()).map(round_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_to_hundredths_and_non_finite_become_null() {
        assert_eq!(
            rounded_rates([Some(12.3456), None, Some(f64::NAN)]),
            [Some(12.35), None, None]
        );
        assert_eq!(rounded_rates([Some(f64::INFINITY); 3]), [None; 3]);
        assert_eq!(round_rate(0.004), 0.0);
        let v = serde_json::to_value(rounded_rates([Some(1.0), None, Some(2.5)])).expect("json");
        assert_eq!(v, serde_json::json!([1.0, null, 2.5]));
    }
}
