//! Decay: the spec's table, special values, error messages, and differential property tests
//! against an f64 reference on every SIMD level this CPU supports.

mod kernels_common;

use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::decay::Decay;
use kernels_common::{check_decay, decay_ref, for_each_level};
use proptest::prelude::*;

const DAY: f64 = 86_400.0;

/// Runs `apply` on `s` with ages, on the current level, and checks every lane.
fn apply_and_check(d: Decay, s: &[f32], ages: &[u64], strict: bool) -> Result<(), String> {
    let mut got = s.to_vec();
    d.apply(&mut got, ages).map_err(|e| e.to_string())?;
    for i in 0..s.len() {
        check_decay(s[i], ages[i], d.time_constant(), got[i], strict)
            .map_err(|e| format!("lane {i}: {e}"))?;
    }
    Ok(())
}

#[test]
fn spec_table() {
    let ages = [0u64, 3600, 86_400, 172_800, 604_800];
    let spec = [
        1.0f64,
        0.959_189_475,
        0.367_879_45,
        0.135_335_281,
        0.000_911_881_973,
    ];
    for_each_level(|level| {
        // Lengths 5 and 21 put the values in the vector body and in the scalar tail.
        for reps in [1, 4] {
            let ages: Vec<u64> = ages.iter().copied().cycle().take(5 * reps + 1).collect();
            let mut s = vec![1.0f32; ages.len()];
            Decay::ENGRAM_DEFAULT.apply(&mut s, &ages).unwrap();
            for (i, &got) in s.iter().enumerate() {
                let want = spec[i % 5];
                let a = ages[i] as f64 / DAY;
                let rel = (f64::from(got) - want).abs() / want;
                assert!(
                    rel <= 2.4e-7 * (1.0 + a),
                    "{level} age {}: got {got}, spec {want}",
                    ages[i]
                );
            }
            assert_eq!(s[0], 1.0);
        }
        for (&age, &want) in ages.iter().zip(&spec) {
            let f = f64::from(Decay::ENGRAM_DEFAULT.factor(age));
            assert!(
                (f - want).abs() <= 2.4e-7 * (1.0 + age as f64 / DAY) * want,
                "factor({age})"
            );
        }
    });
}

#[test]
fn age_zero_is_bit_exact() {
    let specials = [
        -0.0f32,
        0.0,
        f32::NAN,
        f32::from_bits(0x7f80_0001), // signalling NaN
        f32::from_bits(0xffc1_2345), // negative NaN with payload
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE / 3.0,
        f32::MAX,
        -7.25,
        1.0 + f32::EPSILON,
    ];
    for_each_level(|level| {
        let s: Vec<f32> = specials.iter().copied().cycle().take(37).collect();
        let mut got = s.clone();
        Decay::ENGRAM_DEFAULT
            .apply(&mut got, &vec![0; s.len()])
            .unwrap();
        for (a, b) in s.iter().zip(&got) {
            assert_eq!(a.to_bits(), b.to_bits(), "{level}");
        }
    });
}

#[test]
fn special_values_and_huge_ages() {
    let d = Decay::ENGRAM_DEFAULT;
    for_each_level(|level| {
        let s = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0,
            -1.0,
            f32::MAX,
            3.0,
            -2.0,
            1e-30,
        ];
        for age in [1u64, 86_400, 1 << 40, (1 << 53) + 1, u64::MAX - 1, u64::MAX] {
            let ages = vec![age; s.len() * 3];
            let input: Vec<f32> = s.iter().copied().cycle().take(ages.len()).collect();
            let mut got = input.clone();
            d.apply(&mut got, &ages).unwrap();
            for (i, (&x, &y)) in input.iter().zip(&got).enumerate() {
                check_decay(x, age, DAY, y, true).unwrap_or_else(|e| panic!("{level} {i}: {e}"));
                if age >= 1 << 40 && x.is_finite() {
                    assert_eq!(y, 0.0, "{level}: huge age must give exactly 0");
                }
            }
        }
        assert_eq!(d.factor(u64::MAX), 0.0);
        // f32::MAX decays into the subnormal range before reaching 0 (x between about -176 and -193).
        let mut m = [f32::MAX; 9];
        let ages = [185 * 86_400u64; 9];
        d.apply(&mut m, &ages).unwrap();
        assert!(m[0] > 0.0 && m[0] < f32::MIN_POSITIVE, "{level}: {}", m[0]);
        check_decay(f32::MAX, ages[0], DAY, m[0], true).unwrap();
    });
}

#[test]
fn accuracy_holds_for_every_tau_and_age_scale() {
    for_each_level(|level| {
        for tau in [1e-300, 1e-3, 1.0, 3600.0, DAY, 1e9, 1e300] {
            let d = Decay::from_time_constant(tau).unwrap();
            let ages: Vec<u64> = (0..2000u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 64))
                .collect();
            let s: Vec<f32> = (0..2000)
                .map(|i| ((i as f32) * 0.731).sin() * 10f32.powi(i % 70 - 35))
                .collect();
            apply_and_check(d, &s, &ages, true)
                .unwrap_or_else(|e| panic!("{level} tau {tau}: {e}"));
        }
    });
}

#[test]
fn half_life_halves() {
    let d = Decay::from_half_life(3600.0).unwrap();
    assert!((d.time_constant() - 3600.0 / std::f64::consts::LN_2).abs() < 1e-9);
    for_each_level(|_| {
        let mut s = [8.0f32; 10];
        let ages: Vec<u64> = (0..10).map(|i| i * 3600).collect();
        d.apply(&mut s, &ages).unwrap();
        for (i, &x) in s.iter().enumerate() {
            let want = 8.0 * 0.5f64.powi(i as i32);
            assert!(
                (f64::from(x) - want).abs() <= 2.4e-7 * (1.0 + i as f64 * 0.7) * want,
                "{i}: {x}"
            );
        }
    });
}

#[test]
fn error_messages() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let e = Decay::from_time_constant(bad).unwrap_err();
        assert!(matches!(
            e,
            KernelError::InvalidParameter {
                what: "time constant (seconds)",
                ..
            }
        ));
    }
    assert_eq!(
        Decay::from_time_constant(-1.5).unwrap_err().to_string(),
        "time constant (seconds) is -1.5, but it must be finite and greater than 0"
    );
    assert_eq!(
        Decay::from_half_life(0.0).unwrap_err().to_string(),
        "half-life (seconds) is 0, but it must be finite and greater than 0"
    );
    assert_eq!(
        Decay::from_half_life(f64::MAX).unwrap_err().to_string(),
        format!(
            "half-life (seconds) is {}, but it must be at most f64::MAX * ln 2",
            f64::MAX
        )
    );
    let mut s = [1.0f32; 3];
    let e = Decay::ENGRAM_DEFAULT.apply(&mut s, &[1, 2]).unwrap_err();
    assert_eq!(
        e,
        KernelError::LengthMismatch {
            what: "ages_seconds",
            expected: 3,
            actual: 2
        }
    );
    assert_eq!(e.to_string(), "ages_seconds has length 2, expected 3");
    assert_eq!(s, [1.0; 3], "nothing changed on error");
    Decay::ENGRAM_DEFAULT.apply(&mut [], &[]).unwrap();
}

#[test]
fn default_constants() {
    assert_eq!(Decay::ENGRAM_DEFAULT.time_constant(), 86_400.0);
    assert_eq!(Decay::default(), Decay::ENGRAM_DEFAULT);
    assert_eq!(
        Decay::from_time_constant(86_400.0).unwrap(),
        Decay::ENGRAM_DEFAULT
    );
    // One time constant is e^-1, not one half: the seed's "half-life" was a time constant.
    let f = f64::from(Decay::ENGRAM_DEFAULT.factor(86_400));
    assert!((f - (-1.0f64).exp()).abs() < 1e-7);
}

/// Strengths across the f32 range, with NaN, infinities, zeros and subnormals injected.
fn strength() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => -1.0f32..1.0,
        6 => (-40i32..39, -1.0f32..1.0).prop_map(|(e, m)| m * 10f32.powi(e)),
        2 => any::<f32>(),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(-0.0f32),
        1 => Just(f32::MIN_POSITIVE / 7.0),
    ]
}

/// Ages: zero, small, around tau, and huge up to u64::MAX (uniform over bit lengths).
fn age() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(0u64),
        4 => 0u64..2_000_000,
        4 => (any::<u64>(), 0u32..64).prop_map(|(a, sh)| a >> sh),
        1 => Just(u64::MAX),
    ]
}

fn tau() -> impl Strategy<Value = f64> {
    prop_oneof![3 => Just(DAY), 2 => (-6.0f64..12.0).prop_map(|e| 10f64.powf(e))]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_level_matches_the_f64_reference(
        pairs in prop::collection::vec((strength(), age()), 0..300),
        tau in tau(),
    ) {
        let (s, ages): (Vec<f32>, Vec<u64>) = pairs.into_iter().unzip();
        let d = Decay::from_time_constant(tau).unwrap();
        let mut failure = None;
        for_each_level(|level| {
            if let Err(e) = apply_and_check(d, &s, &ages, true) {
                failure.get_or_insert(format!("{level}: {e}"));
            }
        });
        prop_assert!(failure.is_none(), "{}", failure.unwrap());
    }

    #[test]
    fn factor_matches_the_reference(a in age(), tau in tau()) {
        let d = Decay::from_time_constant(tau).unwrap();
        let f = d.factor(a);
        prop_assert!(check_decay(1.0, a, tau, f, true).is_ok(), "{:?}", check_decay(1.0, a, tau, f, true));
        prop_assert!((0.0..=1.0).contains(&f));
        prop_assert!(f64::from(f) - decay_ref(1.0, a, tau) <= 1e-7);
    }
}

#[test]
fn eight_threads_at_once() {
    let n = 10_001;
    let s0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).cos() * 3.0).collect();
    let ages: Vec<u64> = (0..n as u64).map(|i| i * 97).collect();
    std::thread::scope(|sc| {
        for t in 0..8 {
            let (s0, ages) = (&s0, &ages);
            sc.spawn(move || {
                let d = Decay::from_time_constant(1000.0 * (t + 1) as f64).unwrap();
                for _ in 0..10 {
                    let mut s = s0.clone();
                    d.apply(&mut s, ages).unwrap();
                    for i in 0..n {
                        check_decay(s0[i], ages[i], d.time_constant(), s[i], true)
                            .unwrap_or_else(|e| panic!("thread {t}: {e}"));
                    }
                }
            });
        }
    });
}
