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
//! - `notifications`: the notifications received so far (summary, body);
//! - `close-window <title>`: asks the top-level X window with that title to
//!   close, as a window manager's close button does (a `WM_DELETE_WINDOW`
//!   client message; Xvfb has no window manager to send it);
//! - `window <title>`: whether that window is on screen (`viewable`).
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
                ("close-window", title) => {
                    x11::close_window(title).map(|()| serde_json::json!({ "ok": true }))
                }
                ("window", title) => x11::is_viewable(title)
                    .map(|viewable| serde_json::json!({ "viewable": viewable })),
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

    /// The window manager's part: closing a window the way its close button
    /// does, and telling whether a window is on screen.
    mod x11 {
        use std::ffi::{CStr, CString, c_char, c_long, c_uint, c_ulong};
        use std::ptr;

        use x11_dl::xlib;

        use super::Error;

        /// An open connection to the X display in `DISPLAY`, closed on drop.
        struct Display {
            xlib: xlib::Xlib,
            raw: *mut xlib::Display,
        }

        impl Display {
            fn open() -> Result<Self, Error> {
                let xlib = xlib::Xlib::open()?;
                // SAFETY: a null name means the DISPLAY environment variable.
                let raw = unsafe { (xlib.XOpenDisplay)(ptr::null()) };
                if raw.is_null() {
                    return Err("cannot open the X display (is DISPLAY set?)".into());
                }
                Ok(Self { xlib, raw })
            }

            fn atom(&self, name: &str) -> Result<c_ulong, Error> {
                let name = CString::new(name)?;
                // SAFETY: a live display and a NUL-terminated name.
                Ok(unsafe { (self.xlib.XInternAtom)(self.raw, name.as_ptr(), xlib::False) })
            }

            /// Every window below `window`, depth first.
            fn descendants(&self, window: c_ulong, found: &mut Vec<c_ulong>) {
                let (mut root, mut parent) = (0, 0);
                let mut children: *mut c_ulong = ptr::null_mut();
                let mut count: c_uint = 0;
                // SAFETY: a live display; the out-parameters are ours, and the
                // children array is freed with XFree once copied.
                let listed = unsafe {
                    (self.xlib.XQueryTree)(
                        self.raw,
                        window,
                        &mut root,
                        &mut parent,
                        &mut children,
                        &mut count,
                    )
                };
                if listed == 0 || children.is_null() {
                    return;
                }
                // SAFETY: XQueryTree returned `count` windows at `children`.
                let list = unsafe { std::slice::from_raw_parts(children, count as usize) }.to_vec();
                // SAFETY: allocated by Xlib.
                unsafe { (self.xlib.XFree)(children.cast()) };
                for child in list {
                    found.push(child);
                    self.descendants(child, found);
                }
            }

            fn title(&self, window: c_ulong) -> Option<String> {
                let mut name: *mut c_char = ptr::null_mut();
                // SAFETY: a live display; the name is freed with XFree once copied.
                let fetched = unsafe { (self.xlib.XFetchName)(self.raw, window, &mut name) };
                if fetched == 0 || name.is_null() {
                    return None;
                }
                // SAFETY: XFetchName returns a NUL-terminated string.
                let title = unsafe { CStr::from_ptr(name) }
                    .to_string_lossy()
                    .into_owned();
                // SAFETY: allocated by Xlib.
                unsafe { (self.xlib.XFree)(name.cast()) };
                Some(title)
            }

            /// The window titled `title` that takes part in `WM_DELETE_WINDOW`
            /// (the toolkit's top-level window, not its helper windows).
            fn find(&self, title: &str) -> Result<c_ulong, Error> {
                let delete = self.atom("WM_DELETE_WINDOW")?;
                // SAFETY: a live display.
                let root = unsafe { (self.xlib.XDefaultRootWindow)(self.raw) };
                let mut windows = Vec::new();
                self.descendants(root, &mut windows);
                windows
                    .into_iter()
                    .find(|&w| {
                        self.title(w).as_deref() == Some(title)
                            && self.protocols(w).contains(&delete)
                    })
                    .ok_or_else(|| format!("no window titled {title:?}").into())
            }

            fn protocols(&self, window: c_ulong) -> Vec<c_ulong> {
                let mut atoms: *mut c_ulong = ptr::null_mut();
                let mut count = 0;
                // SAFETY: a live display; the array is freed with XFree once copied.
                let got = unsafe {
                    (self.xlib.XGetWMProtocols)(self.raw, window, &mut atoms, &mut count)
                };
                if got == 0 || atoms.is_null() {
                    return Vec::new();
                }
                // SAFETY: XGetWMProtocols returned `count` atoms at `atoms`.
                let list = unsafe {
                    std::slice::from_raw_parts(atoms, usize::try_from(count).unwrap_or(0))
                }
                .to_vec();
                // SAFETY: allocated by Xlib.
                unsafe { (self.xlib.XFree)(atoms.cast()) };
                list
            }
        }

        impl Drop for Display {
            fn drop(&mut self) {
                // SAFETY: opened in `open`, closed once.
                unsafe { (self.xlib.XCloseDisplay)(self.raw) };
            }
        }

        pub fn close_window(title: &str) -> Result<(), Error> {
            let display = Display::open()?;
            let window = display.find(title)?;
            let mut data = xlib::ClientMessageData::new();
            data.set_long(0, display.atom("WM_DELETE_WINDOW")? as c_long);
            data.set_long(1, xlib::CurrentTime as c_long);
            let mut event = xlib::XEvent::from(xlib::XClientMessageEvent {
                type_: xlib::ClientMessage,
                serial: 0,
                send_event: xlib::True,
                display: display.raw,
                window,
                message_type: display.atom("WM_PROTOCOLS")?,
                format: 32,
                data,
            });
            // SAFETY: a live display and a fully initialised client message.
            let sent = unsafe {
                let sent =
                    (display.xlib.XSendEvent)(display.raw, window, xlib::False, 0, &mut event);
                (display.xlib.XSync)(display.raw, xlib::False);
                sent
            };
            if sent == 0 {
                return Err("the X server did not take the close request".into());
            }
            Ok(())
        }

        pub fn is_viewable(title: &str) -> Result<bool, Error> {
            let display = Display::open()?;
            let window = display.find(title)?;
            // SAFETY: XWindowAttributes is plain data, filled in by the call.
            let mut attributes: xlib::XWindowAttributes = unsafe { std::mem::zeroed() };
            // SAFETY: a live display and an attributes struct of ours.
            let got = unsafe {
                (display.xlib.XGetWindowAttributes)(display.raw, window, &mut attributes)
            };
            if got == 0 {
                return Err(format!("cannot read the attributes of {title:?}").into());
            }
            Ok(attributes.map_state == xlib::IsViewable)
        }
    }
}
