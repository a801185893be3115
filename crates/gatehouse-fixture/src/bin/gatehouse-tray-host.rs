//! A stand-in for a desktop panel's tray and notification area, so
//! end-to-end tests can see the real tray icon and desktop notifications of
//! the Gatehouse app on a bare X server (Xvfb has no panel). It owns
//! `org.kde.StatusNotifierWatcher` on the D-Bus session bus, where
//! libayatana-appindicator (behind Tauri's tray icon) registers the app's
//! StatusNotifierItem, and `org.freedesktop.Notifications`, where desktop
//! notifications arrive. It answers on stdin/stdout, one JSON line per
//! command:
//!
//! - `snapshot`: every registered item with its icon (the name of the file
//!   in `--icons` whose pixels it shows, when one matches) and its menu
//!   (`com.canonical.dbusmenu` layout: label, enabled, separator);
//! - `click <label>`: clicks the menu entry with that label, as a person
//!   choosing it in the panel would;
//! - `notifications`: the notifications received so far (summary, body).
//!
//! It prints `ready` once it owns both names and exits at the end of its
//! input.

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("gatehouse-tray-host speaks the Linux StatusNotifierItem protocol only");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::io::{BufRead, Write};
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::sync::{Arc, Mutex};

    use clap::Parser;
    use serde::Serialize;
    use zbus::blocking::Connection;
    use zbus::message::Header;
    use zbus::zvariant::{OwnedValue, Value};

    const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
    const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

    #[derive(Parser)]
    #[command(about = "A StatusNotifierWatcher for end-to-end tests of the tray icon")]
    struct Args {
        /// Folder of PNG icons to recognise the items' icons by (their pixels).
        #[arg(long)]
        icons: Option<PathBuf>,
    }

    type Error = Box<dyn std::error::Error>;
    /// A known icon: (file stem, RGBA pixels).
    type KnownIcon = (String, Vec<u8>);

    /// Items registered with us: (unique bus name of the sender, object path).
    type Registry = Arc<Mutex<Vec<(String, String)>>>;

    struct Watcher {
        items: Registry,
    }

    #[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
    impl Watcher {
        fn register_status_notifier_item(&self, service: &str, #[zbus(header)] header: Header<'_>) {
            let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
            // The argument is an object path (appindicator) or a bus name (others).
            let (bus, path) = if service.starts_with('/') {
                (sender, service.to_owned())
            } else {
                (service.to_owned(), "/StatusNotifierItem".to_owned())
            };
            let mut items = self.items.lock().expect("registry lock");
            items.retain(|(b, p)| !(b == &bus && p == &path));
            items.push((bus, path));
        }

        fn register_status_notifier_host(&self, _service: &str) {}

        #[zbus(property)]
        fn registered_status_notifier_items(&self) -> Vec<String> {
            let items = self.items.lock().expect("registry lock");
            items.iter().map(|(b, p)| format!("{b}{p}")).collect()
        }

        #[zbus(property)]
        fn is_status_notifier_host_registered(&self) -> bool {
            true
        }

        #[zbus(property)]
        fn protocol_version(&self) -> i32 {
            0
        }
    }

    /// Notifications received, in order.
    type Inbox = Arc<Mutex<Vec<Notification>>>;

    #[derive(Clone, Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Notification {
        app_name: String,
        summary: String,
        body: String,
    }

    struct Notifications {
        inbox: Inbox,
    }

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Notifications {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &self,
            app_name: String,
            _replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            _actions: Vec<String>,
            _hints: HashMap<String, OwnedValue>,
            _expire_timeout: i32,
        ) -> u32 {
            let mut inbox = self.inbox.lock().expect("inbox lock");
            inbox.push(Notification {
                app_name,
                summary,
                body,
            });
            u32::try_from(inbox.len()).unwrap_or(u32::MAX)
        }

        fn close_notification(&self, _id: u32) {}

        fn get_capabilities(&self) -> Vec<String> {
            vec!["body".into()]
        }

        fn get_server_information(&self) -> (String, String, String, String) {
            (
                "gatehouse-tray-host".into(),
                "gatehouse".into(),
                env!("CARGO_PKG_VERSION").into(),
                "1.2".into(),
            )
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Item {
        /// The matching file's stem in `--icons`, e.g. `tray-ok`.
        icon: Option<String>,
        icon_name: String,
        status: String,
        menu: Vec<MenuEntry>,
    }

    #[derive(Serialize)]
    struct MenuEntry {
        id: i32,
        label: String,
        enabled: bool,
        separator: bool,
    }

    pub fn main() -> ExitCode {
        let args = Args::parse();
        match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("gatehouse-tray-host: {error}");
                ExitCode::FAILURE
            }
        }
    }

    fn run(args: &Args) -> Result<(), Error> {
        let icons = match &args.icons {
            Some(dir) => known_icons(dir)?,
            None => Vec::new(),
        };
        let items = Registry::default();
        let inbox = Inbox::default();
        let connection = zbus::blocking::connection::Builder::session()?
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    items: items.clone(),
                },
            )?
            .serve_at(
                "/org/freedesktop/Notifications",
                Notifications {
                    inbox: inbox.clone(),
                },
            )?
            .name("org.kde.StatusNotifierWatcher")?
            .name("org.freedesktop.Notifications")?
            .build()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready")?;
        out.flush()?;
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let answer = match line.split_once(' ').unwrap_or((line.as_str(), "")) {
                ("snapshot", _) => snapshot(&connection, &items, &icons)
                    .map(|items| serde_json::json!({ "items": items })),
                ("click", label) => {
                    click(&connection, &items, label).map(|()| serde_json::json!({ "ok": true }))
                }
                ("notifications", _) => {
                    let received = inbox.lock().expect("inbox lock").clone();
                    Ok(serde_json::json!({ "notifications": received }))
                }
                _ => Err(format!("unknown command {line:?}").into()),
            };
            let answer = answer.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
            writeln!(out, "{answer}")?;
            out.flush()?;
        }
        Ok(())
    }

    /// (file stem, RGBA pixels) of each PNG in `dir`.
    fn known_icons(dir: &Path) -> Result<Vec<KnownIcon>, Error> {
        let mut icons = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "png") {
                let stem = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                icons.push((stem, rgba(&path)?));
            }
        }
        Ok(icons)
    }

    /// The pixels of a PNG as 8-bit RGBA, whatever its colour type.
    fn rgba(path: &Path) -> Result<Vec<u8>, Error> {
        let mut decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let mut buffer = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
        let frame = reader.next_frame(&mut buffer)?;
        buffer.truncate(frame.buffer_size());
        let pixels = match frame.color_type {
            png::ColorType::Rgba => buffer,
            png::ColorType::Rgb => buffer
                .chunks(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::GrayscaleAlpha => buffer
                .chunks(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            png::ColorType::Grayscale => buffer.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::Indexed => return Err("indexed PNG after normalisation".into()),
        };
        Ok(pixels)
    }

    fn snapshot(
        connection: &Connection,
        items: &Registry,
        icons: &[KnownIcon],
    ) -> Result<Vec<Item>, Error> {
        let registered = items.lock().expect("registry lock").clone();
        let mut out = Vec::new();
        for (bus, path) in registered {
            let Ok(properties) = item_properties(connection, &bus, &path) else {
                // The app has gone away; its registration goes with it.
                items
                    .lock()
                    .expect("registry lock")
                    .retain(|(b, p)| !(b == &bus && p == &path));
                continue;
            };
            let text = |name: &str| -> String {
                properties
                    .get(name)
                    .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
                    .unwrap_or_default()
            };
            let icon_name = text("IconName");
            let icon = rgba(Path::new(&icon_name)).ok().and_then(|pixels| {
                icons
                    .iter()
                    .find(|(_, known)| *known == pixels)
                    .map(|(stem, _)| stem.clone())
            });
            let menu_path = properties
                .get("Menu")
                .and_then(|v| zbus::zvariant::OwnedObjectPath::try_from(v.try_clone().ok()?).ok());
            let menu = match menu_path {
                Some(menu_path) => menu(connection, &bus, menu_path.as_str())?,
                None => Vec::new(),
            };
            out.push(Item {
                icon,
                icon_name,
                status: text("Status"),
                menu,
            });
        }
        Ok(out)
    }

    fn item_properties(
        connection: &Connection,
        bus: &str,
        path: &str,
    ) -> zbus::Result<HashMap<String, OwnedValue>> {
        let reply = connection.call_method(
            Some(bus),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(ITEM_INTERFACE,),
        )?;
        reply.body().deserialize()
    }

    type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

    fn menu(connection: &Connection, bus: &str, path: &str) -> zbus::Result<Vec<MenuEntry>> {
        let reply = connection.call_method(
            Some(bus),
            path,
            Some(MENU_INTERFACE),
            "GetLayout",
            &(0i32, -1i32, Vec::<String>::new()),
        )?;
        let (_revision, (_root, _props, children)): (u32, Layout) = reply.body().deserialize()?;
        let mut entries = Vec::new();
        for child in &children {
            collect(child, &mut entries);
        }
        Ok(entries)
    }

    /// Flattens one layout node (`(ia{sv}av)`) and its children into `out`.
    fn collect(node: &Value<'_>, out: &mut Vec<MenuEntry>) {
        let node = match node {
            Value::Value(inner) => inner.as_ref(),
            other => other,
        };
        let Value::Structure(structure) = node else {
            return;
        };
        let [Value::I32(id), Value::Dict(props), Value::Array(children)] = structure.fields()
        else {
            return;
        };
        let mut entry = MenuEntry {
            id: *id,
            label: String::new(),
            enabled: true,
            separator: false,
        };
        for (key, value) in props.iter() {
            let value = match value {
                Value::Value(inner) => inner.as_ref(),
                other => other,
            };
            match (key, value) {
                (Value::Str(k), Value::Str(v)) if k.as_str() == "label" => {
                    entry.label = v.as_str().replace('_', "")
                }
                (Value::Str(k), Value::Bool(v)) if k.as_str() == "enabled" => entry.enabled = *v,
                (Value::Str(k), Value::Str(v)) if k.as_str() == "type" => {
                    entry.separator = v.as_str() == "separator"
                }
                _ => {}
            }
        }
        out.push(entry);
        for child in children.iter() {
            collect(child, out);
        }
    }

    fn click(connection: &Connection, items: &Registry, label: &str) -> Result<(), Error> {
        let registered = items.lock().expect("registry lock").clone();
        for (bus, path) in registered {
            let properties = item_properties(connection, &bus, &path)?;
            let Some(menu_path) = properties
                .get("Menu")
                .and_then(|v| zbus::zvariant::OwnedObjectPath::try_from(v.try_clone().ok()?).ok())
            else {
                continue;
            };
            let entries = menu(connection, &bus, menu_path.as_str())?;
            if let Some(entry) = entries.iter().find(|e| e.label == label) {
                if !entry.enabled {
                    return Err(format!("the menu entry {label:?} is disabled").into());
                }
                connection.call_method(
                    Some(bus.as_str()),
                    menu_path.as_str(),
                    Some(MENU_INTERFACE),
                    "Event",
                    &(entry.id, "clicked", Value::from(0i32), 0u32),
                )?;
                return Ok(());
            }
        }
        Err(format!("no menu entry is labelled {label:?}").into())
    }
}
