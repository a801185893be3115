// The Debian package as a person gets it: what it holds and declares, then installed with apt,
// the installed app launched (its window and its tray icon appear), the installed `gatehouse`
// command run, and the package removed without leaving files behind — the person's start-at-login
// entry stays (a package cannot touch a home folder) but names a TryExec= program that is gone,
// so desktops skip it. The .rpm is read with `rpm -qlp`/`-qRp` and must hold the same.
//
// Needs dist/*.deb (scripts/package.sh), root (apt-get), an X display and a D-Bus session, and
// the debug gatehouse-tray-host (the stand-in desktop panel of the e2e tests).
// Run by `scripts/test.sh --only package`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repoRoot } from "../e2e/lib/harness.mjs";
import { start } from "../e2e/lib/processes.mjs";
import { TrayHost } from "../e2e/lib/tray.mjs";

const dist = join(repoRoot, "dist");
const deb = readdirSync(dist).find((name) => name.endsWith(".deb"));
const debPath = deb && join(dist, deb);
const rpm = readdirSync(dist).find((name) => name.endsWith(".rpm"));
const rpmPath = rpm && join(dist, rpm);
const hasRpm = (() => {
  try {
    execFileSync("rpm", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const isRoot = process.getuid?.() === 0;
const HICOLOR_SIZES = ["16x16", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256", "512x512"];

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
}

const dir = mkdtempSync(join(tmpdir(), "gatehouse-package-"));
const world = { dir, procs: [] };
let installedFiles = [];

before(() => assert.ok(debPath, `no .deb in ${dist}: run scripts/package.sh first`));
after(async () => {
  for (const proc of world.procs.reverse()) await proc.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the .deb holds the app, the CLI, a desktop entry and every icon size, and declares its dependencies", () => {
  const files = run("dpkg-deb", ["--contents", debPath])
    .split("\n")
    .map((line) => `/${line.split(/\s+/).pop().replace(/^\.?\//, "")}`);
  for (const path of ["/usr/bin/gatehouse-app", "/usr/bin/gatehouse", "/usr/share/applications/Gatehouse.desktop"]) {
    assert.ok(files.includes(path), `${path} is not in the package`);
  }
  for (const size of HICOLOR_SIZES) {
    const icon = `/usr/share/icons/hicolor/${size}/apps/gatehouse-app.png`;
    assert.ok(files.includes(icon), `${icon} is not in the package`);
  }
  const depends = run("dpkg-deb", ["--field", debPath, "Depends"]);
  for (const dependency of ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1"]) {
    assert.match(depends, new RegExp(`\\b${dependency.replace(/[.+]/g, "\\$&")}\\b`), `Depends lacks ${dependency}`);
  }
});

test("the .rpm holds the same app, CLI, desktop entry and icons, and declares its dependencies", { skip: !hasRpm && "needs rpm (scripts/test.sh's setup installs it)" }, () => {
  assert.ok(rpmPath, `no .rpm in ${dist}: run scripts/package.sh first`);
  const files = run("rpm", ["-qlp", rpmPath]).split("\n").filter(Boolean);
  for (const path of ["/usr/bin/gatehouse-app", "/usr/bin/gatehouse", "/usr/share/applications/Gatehouse.desktop"]) {
    assert.ok(files.includes(path), `${path} is not in the .rpm`);
  }
  for (const size of HICOLOR_SIZES) {
    const icon = `/usr/share/icons/hicolor/${size}/apps/gatehouse-app.png`;
    assert.ok(files.includes(icon), `${icon} is not in the .rpm`);
  }
  // The bundler lets rpm declare the shared libraries the binaries link (by soname), which
  // every RPM distribution resolves to its own package names.
  const requires = run("rpm", ["-qRp", rpmPath]);
  for (const dependency of ["libwebkit2gtk-4.1.so.0", "libgtk-3.so.0", "libayatana-appindicator3.so.1"]) {
    assert.match(requires, new RegExp(`^${dependency.replace(/[.+]/g, "\\$&")}\\b`, "m"), `Requires lacks ${dependency}:\n${requires}`);
  }
  const debVersion = run("dpkg-deb", ["--field", debPath, "Version"]).trim();
  assert.equal(run("rpm", ["-qp", "--queryformat", "%{VERSION}", rpmPath]).trim(), debVersion, "the .rpm and the .deb carry one version");
});

test("installed with apt: the app opens its window and tray icon, gatehouse runs, removal leaves nothing", { skip: !isRoot && "needs root (apt-get)", timeout: 180000 }, async () => {
  const name = run("dpkg-deb", ["--field", debPath, "Package"]).trim();
  const version = run("dpkg-deb", ["--field", debPath, "Version"]).trim();
  run("apt-get", ["install", "-y", "--no-install-recommends", debPath], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  try {
    installedFiles = run("dpkg-query", ["--listfiles", name]).split("\n").filter(Boolean);

    // The desktop entry launches the installed app.
    const entry = run("sh", ["-c", "cat /usr/share/applications/Gatehouse.desktop"]);
    assert.match(entry, /^Exec=gatehouse-app\b/m);
    assert.match(entry, /^Icon=gatehouse-app$/m);

    // The command on PATH tells the package's version.
    assert.equal(run("gatehouse", ["--version"]).trim(), `gatehouse ${version}`);

    // The installed app: its window appears, its tray icon registers.
    // Start at login was turned on by an earlier version: the entry the autostart library writes
    // (Exec= only). The installed app writes it again for itself, with TryExec=.
    const home = join(dir, "home");
    const autostart = join(home, ".config", "autostart", "Gatehouse.desktop");
    mkdirSync(join(home, ".config", "autostart"), { recursive: true });
    writeFileSync(autostart, "[Desktop Entry]\nType=Application\nName=Gatehouse\nExec=/usr/bin/gatehouse-app --hidden\nTerminal=false");

    const tray = await TrayHost.start(world);
    const env = {
      ...process.env,
      HOME: home,
      GATEHOUSE_CONFIG: join(dir, "config.toml"),
      GATEHOUSE_DATA_DIR: join(dir, "data"),
    };
    const app = start("installed-app", "/usr/bin/gatehouse-app", [], { env, logFile: join(dir, "app.log") });
    world.procs.push(app);
    await tray.waitForWindow("Gatehouse", true, { timeout: 30000 });
    await tray.waitForState("tray-idle", ["Gatehouse: no servers", "Open Gatehouse", "Quit"]);
    await tray.click("Quit");
    const { code } = await app.exited;
    assert.equal(code, 0, "Quit in the tray ends the app");
    const rewritten = readFileSync(autostart, "utf8");
    assert.match(rewritten, /^Exec=\/usr\/bin\/gatehouse-app --hidden$/m);
    assert.match(rewritten, /^TryExec=\/usr\/bin\/gatehouse-app$/m, rewritten);
    assert.ok(existsSync(join(dir, "data", "logs", "app.log")), "the installed app writes its log file");
  } finally {
    run("apt-get", ["remove", "--purge", "-y", name], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  assert.ok(installedFiles.length > 0);
  const left = installedFiles.filter((path) => existsSync(path) && !isSharedDirectory(path));
  assert.deepEqual(left, [], "files the package installed are still there after removal");
  // The person's start-at-login entry stays, inert: its TryExec program is gone, so desktops skip it.
  const leftEntry = readFileSync(join(dir, "home", ".config", "autostart", "Gatehouse.desktop"), "utf8");
  const tryExec = /^TryExec=(.*)$/m.exec(leftEntry)?.[1];
  assert.equal(tryExec, "/usr/bin/gatehouse-app");
  assert.equal(existsSync(tryExec), false, "the entry's TryExec program is gone with the package");
});

/** Directories other packages own too (/usr, /usr/bin, the icon theme's folders…). */
function isSharedDirectory(path) {
  try {
    return run("sh", ["-c", `test -d "$1" && echo dir`, "sh", path]).trim() === "dir";
  } catch {
    return false;
  }
}
