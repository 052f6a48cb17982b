//! Runtime dispatch: detection, forcing every level, and the `ENGRAM_SIMD` cap (checked in child
//! processes, since the variable is read once per process).

#[path = "child/mod.rs"]
mod child;

mod kernels_common;

use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch::{self, SimdLevel};
use engram_kernels::kernels::similarity::cosine_similarity;
use kernels_common::{for_each_level, force_lock, supported_levels};

#[test]
#[cfg(target_arch = "x86_64")]
fn detected_matches_cpu_features() {
    let avx2_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
    let want = if avx2_fma && is_x86_feature_detected!("avx512f") {
        SimdLevel::Avx512
    } else if avx2_fma {
        SimdLevel::Avx2Fma
    } else {
        SimdLevel::Scalar
    };
    assert_eq!(dispatch::detected(), want);
    assert!(!dispatch::is_supported(SimdLevel::Neon));
    assert_eq!(
        dispatch::is_supported(SimdLevel::Avx2Fma),
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    );
    assert_eq!(
        dispatch::is_supported(SimdLevel::Avx512),
        avx2_fma && is_x86_feature_detected!("avx512f")
    );
}

#[test]
fn every_supported_level_can_be_forced() {
    let levels = supported_levels();
    assert_eq!(levels[0], SimdLevel::Scalar);
    assert_eq!(*levels.last().unwrap(), kernels_common::automatic_level());
    if std::env::var_os("ENGRAM_SIMD").is_none() {
        assert_eq!(*levels.last().unwrap(), dispatch::detected());
    }
    let mut seen = Vec::new();
    for_each_level(|level| {
        seen.push(level);
        // The kernels run (and agree) on the forced path.
        let s = cosine_similarity(&[3.0, 4.0], &[3.0, 4.0, -4.0, 3.0]).unwrap();
        assert_eq!(s, [1.0, 0.0]);
        assert_eq!(Decay::ENGRAM_DEFAULT.factor(0), 1.0);
    });
    assert_eq!(seen, levels);
}

#[test]
fn unsupported_levels_are_refused_and_change_nothing() {
    let _guard = force_lock();
    dispatch::force(None).unwrap();
    let before = dispatch::active();
    for level in SimdLevel::ALL {
        let result = dispatch::force(Some(level));
        if dispatch::is_supported(level) {
            assert_eq!(result, Ok(()));
            dispatch::force(None).unwrap();
        } else {
            let e = result.unwrap_err();
            assert_eq!(
                e,
                dispatch::UnsupportedSimdLevel {
                    level,
                    detected: dispatch::detected()
                }
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "SIMD level {level} is not supported by this CPU (the best it supports is {})",
                    dispatch::detected()
                )
            );
            assert_eq!(dispatch::active(), before);
        }
    }
    assert_eq!(dispatch::active(), before);
}

#[test]
fn names_round_trip() {
    for level in SimdLevel::ALL {
        assert_eq!(level.name().parse::<SimdLevel>(), Ok(level));
        assert_eq!(
            level.to_string().to_uppercase().parse::<SimdLevel>(),
            Ok(level)
        );
    }
    assert!("avx".parse::<SimdLevel>().is_err());
    assert!("".parse::<SimdLevel>().is_err());
}

/// The child half of `engram_simd_caps_the_level`: the child computes the expected level from its
/// own CPU (a parent under valgrind sees fewer features than a native child).
#[test]
#[ignore = "run by engram_simd_caps_the_level in a child process"]
fn child_checks_active_level() {
    let value = std::env::var("ENGRAM_SIMD").unwrap();
    let want = match value.parse::<SimdLevel>() {
        Ok(l) if dispatch::is_supported(l) => l,
        // A cap above the CPU's best, another architecture's level, or garbage: the best.
        _ => dispatch::detected(),
    };
    assert_eq!(dispatch::active(), want, "ENGRAM_SIMD={value}");
    let s = cosine_similarity(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
    assert!((s[0] - 0.974_631_8).abs() < 1e-6);
}

#[test]
fn engram_simd_caps_the_level() {
    for value in ["scalar", "avx2", "AVX512", "neon", "bogus"] {
        let out = child::self_command()
            .args([
                "--ignored",
                "--exact",
                "child_checks_active_level",
                "--nocapture",
            ])
            .env("ENGRAM_SIMD", value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "ENGRAM_SIMD={value}: {}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "child did not run"
        );
        if value == "bogus" {
            assert!(
                stderr.contains(
                    "engram-kernels: ENGRAM_SIMD=\"bogus\" is invalid (expected scalar, avx2, \
                     avx512 or neon); using the best level this CPU supports"
                ),
                "{stderr}"
            );
        }
    }
}
