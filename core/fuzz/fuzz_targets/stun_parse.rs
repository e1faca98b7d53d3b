#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lifeline_core::fuzzing::stun_parse(data);
});
