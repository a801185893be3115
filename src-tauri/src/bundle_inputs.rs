//! What the packages of every platform are built from, checked where a
//! Linux build can check it: one version everywhere, and icons that exist and
//! hold what their format says (the .ico and .icns come from the same drawing
//! as the PNGs, `scripts/make-icons.py`).

use std::path::Path;

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

/// PNG sizes in the bundle's icon list, which become the hicolor theme's sizes.
fn png_side(bytes: &[u8]) -> u32 {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(width, height, "icons are square");
    width
}

#[test]
fn the_bundle_icons_cover_every_size_and_platform() {
    let conf = conf();
    let listed: Vec<&str> = conf["bundle"]["icon"]
        .as_array()
        .expect("bundle.icon is a list")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name} is listed but: {e}"))
    };

    let mut sides: Vec<u32> = listed
        .iter()
        .filter(|name| name.ends_with(".png"))
        .map(|name| png_side(&read(name)))
        .collect();
    sides.sort_unstable();
    assert_eq!(sides, [16, 24, 32, 48, 64, 128, 256, 512]);

    // Windows: an ICONDIR of PNG images, 16 to 256 pixels.
    let ico_name = listed
        .iter()
        .find(|n| n.ends_with(".ico"))
        .expect("an .ico");
    let ico = read(ico_name);
    assert_eq!(&ico[..4], [0, 0, 1, 0], "an icon resource");
    let count = usize::from(u16::from_le_bytes([ico[4], ico[5]]));
    let mut ico_sides = Vec::new();
    for entry in ico[6..6 + 16 * count].chunks(16) {
        let len = u32::from_le_bytes(entry[8..12].try_into().unwrap()) as usize;
        let at = u32::from_le_bytes(entry[12..16].try_into().unwrap()) as usize;
        ico_sides.push(png_side(&ico[at..at + len]));
    }
    assert_eq!(ico_sides, [16, 24, 32, 48, 64, 128, 256]);

    // macOS: an icon family whose entries are PNGs up to 512 pixels.
    let icns_name = listed
        .iter()
        .find(|n| n.ends_with(".icns"))
        .expect("an .icns");
    let icns = read(icns_name);
    assert_eq!(&icns[..4], b"icns");
    assert_eq!(
        u32::from_be_bytes(icns[4..8].try_into().unwrap()) as usize,
        icns.len()
    );
    let (mut at, mut kinds) = (8, Vec::new());
    while at < icns.len() {
        let kind = String::from_utf8_lossy(&icns[at..at + 4]).into_owned();
        let len = u32::from_be_bytes(icns[at + 4..at + 8].try_into().unwrap()) as usize;
        png_side(&icns[at + 8..at + len]);
        kinds.push(kind);
        at += len;
    }
    assert!(kinds.contains(&"ic09".to_owned()), "a 512-pixel image");
}

#[test]
fn the_bundle_names_the_app() {
    let conf = conf();
    assert_eq!(conf["identifier"], "dev.gatehouse.desktop");
    for field in [
        "publisher",
        "copyright",
        "homepage",
        "license",
        "shortDescription",
        "longDescription",
    ] {
        assert!(
            conf["bundle"][field]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "bundle.{field} is filled in"
        );
    }
}
