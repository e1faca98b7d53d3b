//! The wire between two namespaces adds the delay and loss it is asked for (measured with
//! ping, not assumed).

use std::time::Duration;

use lifeline_lab::{Netns, Wire, WireConfig};

/// Pings B from A `count` times; returns (received, average RTT in ms).
fn ping(a: &Netns, count: u32, interval: &str) -> (u32, f64) {
    let output = a
        .command("ping")
        .args([
            "-n",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            interval,
            "-W",
            "1",
        ])
        .arg(Wire::B)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let received = text
        .split(", ")
        .find_map(|part| part.strip_suffix(" received"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ping summary in {text}"));
    let average = text
        .lines()
        .find_map(|l| l.strip_prefix("rtt min/avg/max/mdev = "))
        .and_then(|v| v.split('/').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    (received, average)
}

#[test]
fn delay_is_added_in_both_directions() {
    let (a, b) = (Netns::new("a").unwrap(), Netns::new("b").unwrap());
    let config = WireConfig {
        one_way_delay: Duration::from_millis(25),
        ..WireConfig::default()
    };
    let _wire = Wire::start(&a, &b, &config).unwrap();
    let (received, rtt) = ping(&a, 10, "0.05");
    assert_eq!(received, 10);
    assert!(
        (50.0..60.0).contains(&rtt),
        "RTT {rtt} ms, expected about 50"
    );
}

#[test]
fn loss_drops_about_the_share_asked_for() {
    let (a, b) = (Netns::new("a").unwrap(), Netns::new("b").unwrap());
    let config = WireConfig {
        loss: 0.2,
        ..WireConfig::default()
    };
    let _wire = Wire::start(&a, &b, &config).unwrap();
    // A ping survives with probability 0.8 each way: 64 % of 300 = 192 expected.
    let (received, _) = ping(&a, 300, "0.005");
    assert!(
        (150..235).contains(&received),
        "{received} of 300 pings came back"
    );
}

#[test]
fn namespaces_and_devices_are_removed() {
    let name = {
        let (a, b) = (Netns::new("a").unwrap(), Netns::new("b").unwrap());
        let _wire = Wire::start(&a, &b, &WireConfig::default()).unwrap();
        a.name().to_owned()
    };
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&name));
}
