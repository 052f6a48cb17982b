//! Process-wide metrics after spreads, in a test binary of its own: the metrics count every
//! kernel call in the process, so no other test may run beside this one.

use engram_kernels::kernels::spread::spread_legacy;

#[test]
fn two_3_node_spreads_record_2_resets_and_a_12_byte_peak() {
    let before = engram_kernels::metrics::snapshot();
    assert_eq!(
        before.total_resets, 0,
        "a fresh process has recorded no kernel call"
    );

    let mut act = [1.0, 0.0, 0.0];
    spread_legacy(&[1, 2], &[0.5, 0.3], &mut act, 1).unwrap();
    spread_legacy(&[1, 2], &[0.5, 0.3], &mut act, 1).unwrap();

    let m = engram_kernels::metrics::snapshot();
    assert_eq!(m.total_resets, 2);
    assert_eq!(m.total_overflows, 0);
    assert!(
        m.max_high_water_mark >= 12,
        "peak {} < 12 bytes",
        m.max_high_water_mark
    );
}
