//! What the packages of every platform are built from, checked where a
//! Linux build can check it: one version everywhere.

fn conf() -> serde_json::Value {
    serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json is JSON")
}

/// `gatehouse --version`, the Settings page (this crate's version) and the
/// packages (tauri.conf.json) show one version, also package.json's.
#[test]
fn one_version_everywhere() {
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(conf()["version"], version, "tauri.conf.json");
    let package: serde_json::Value =
        serde_json::from_str(include_str!("../../package.json")).expect("package.json is JSON");
    assert_eq!(package["version"], version, "package.json");
}
