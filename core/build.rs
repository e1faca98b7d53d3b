//! Build script: refuses to build the `media` feature without nasm.
//!
//! The `openh264-sys2` build script compiles openh264's x86 assembly with nasm when it can and
//! otherwise only prints "not using any assembly" and carries on, which makes encoding about
//! 2.6 times slower. Lifeline fails the build loudly instead.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=NASM");
    println!("cargo:rerun-if-env-changed=OPENH264_NO_ASM");
    if std::env::var_os("CARGO_FEATURE_MEDIA").is_none() {
        return;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" && arch != "x86" {
        // openh264 uses nasm only on x86; ARM builds use its NEON .S files through cc.
        return;
    }
    if std::env::var_os("OPENH264_NO_ASM").is_some() {
        panic!(
            "OPENH264_NO_ASM is set, which builds openh264 without its assembly (2.6x slower): unset it"
        );
    }
    // nasm-rs (used by openh264-sys2) runs $NASM if set, otherwise `nasm` from PATH.
    let nasm = std::env::var_os("NASM").unwrap_or_else(|| "nasm".into());
    let ok = Command::new(&nasm)
        .arg("-v")
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false);
    if !ok {
        panic!(
            "nasm is required to build openh264 with its assembly: apt-get install nasm (or scripts/setup)"
        );
    }
}
