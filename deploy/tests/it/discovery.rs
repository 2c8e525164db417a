//! MPSS discovery against the fake sysfs trees in `tests/fixtures/mpss-sysfs` (MPSS 3 and 4 layouts).

use phirig_deploy::discovery::{
    render_table, CardKind, CardRow, CardSpec, CardState, MpssDiscovery,
};
use std::path::PathBuf;

fn fixture() -> MpssDiscovery {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpss-sysfs");
    MpssDiscovery {
        sysfs_root: root.join("sys"),
        etc_root: root.join("etc"),
        ssh_user: "root".into(),
    }
}

#[test]
fn finds_cards_in_numeric_order_and_skips_other_entries() {
    let cards = fixture().discover().expect("discover");
    let names: Vec<&str> = cards.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["mic0", "mic1", "mic2", "mic10"]);
    assert!(cards.iter().all(|c| c.kind == CardKind::Mpss));
}

#[test]
fn mpss3_knc_layout() {
    let cards = fixture().discover().expect("discover");
    let c = &cards[0];
    assert_eq!(c.state, CardState::Online, "no trailing newline in MPSS 3");
    assert_eq!(c.family.as_deref(), Some("x100"));
    assert!(c.is_knc());
    assert_eq!(c.serial.as_deref(), Some("ADKC32800437"));
    assert_eq!(c.cores, Some(61));
    assert_eq!(c.memory_bytes, Some(8 << 30));
    assert_eq!(c.address, "172.31.1.1");
    assert_eq!(
        c.ssh.as_ref().map(|t| t.destination()).as_deref(),
        Some("root@172.31.1.1")
    );
}

#[test]
fn mpss4_knl_layout_with_conf_address() {
    let cards = fixture().discover().expect("discover");
    let c = &cards[1];
    assert_eq!(c.state, CardState::Ready);
    assert_eq!(c.family.as_deref(), Some("x200"));
    assert!(!c.is_knc());
    assert_eq!(c.serial.as_deref(), Some("QSKL50100123"));
    assert_eq!(c.cores, Some(64), "hex 0x40");
    assert_eq!(c.memory_bytes, Some(16 << 30));
    assert_eq!(c.address, "172.31.99.1", "from etc/mpss/mic1.conf");
}

#[test]
fn error_and_booting_states() {
    let cards = fixture().discover().expect("discover");
    assert_eq!(cards[2].state, CardState::Error);
    assert_eq!(cards[2].cores, None);
    assert_eq!(cards[3].state, CardState::Booting);
    assert_eq!(cards[3].address, "172.31.11.1");
}

#[test]
fn card_spec_resolves_through_sysfs() {
    let c = "mic1"
        .parse::<CardSpec>()
        .expect("spec")
        .resolve(&fixture())
        .expect("resolve");
    assert_eq!(c.address, "172.31.99.1");
    let c = "root@172.31.1.1"
        .parse::<CardSpec>()
        .expect("spec")
        .resolve(&fixture())
        .expect("resolve");
    assert_eq!(c.kind, CardKind::Ssh);
}

#[test]
fn table_and_json_output() {
    let cards = fixture().discover().expect("discover");
    let rows: Vec<CardRow> = cards.iter().map(|c| CardRow::new(c, "-")).collect();
    let table = render_table(&rows);
    assert_eq!(table.lines().count(), 5);
    assert!(table.contains("mic2") && table.contains("error"), "{table}");
    let json: serde_json::Value = serde_json::to_value(&rows).expect("json");
    assert_eq!(json[1]["address"], "172.31.99.1");
    assert_eq!(json[0]["memory_bytes"], 8u64 << 30);
}

#[test]
fn missing_sysfs_means_no_mpss_cards() {
    let d = MpssDiscovery {
        sysfs_root: PathBuf::from("/nonexistent/phirig"),
        ..fixture()
    };
    assert!(d.discover().expect("no error").is_empty());
}
