// The Debian package as a person gets it: what it holds and declares, then installed with apt,
// the installed app launched (its window and its tray icon appear), the installed `gatehouse`
// command run, and the package removed without leaving files behind.
//
// Needs dist/*.deb (scripts/package.sh), root (apt-get), an X display and a D-Bus session, and
// the debug gatehouse-tray-host (the stand-in desktop panel of the e2e tests).
// Run by `scripts/test.sh --only package`.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repoRoot } from "../e2e/lib/harness.mjs";
import { start } from "../e2e/lib/processes.mjs";
import { TrayHost } from "../e2e/lib/tray.mjs";

const dist = join(repoRoot, "dist");
const deb = readdirSync(dist).find((name) => name.endsWith(".deb"));
const debPath = deb && join(dist, deb);
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
    const tray = await TrayHost.start(world);
    const env = {
      ...process.env,
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
  } finally {
    run("apt-get", ["remove", "--purge", "-y", name], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  assert.ok(installedFiles.length > 0);
  const left = installedFiles.filter((path) => existsSync(path) && !isSharedDirectory(path));
  assert.deepEqual(left, [], "files the package installed are still there after removal");
});

/** Directories other packages own too (/usr, /usr/bin, the icon theme's folders…). */
function isSharedDirectory(path) {
  try {
    return run("sh", ["-c", `test -d "$1" && echo dir`, "sh", path]).trim() === "dir";
  } catch {
    return false;
  }
}
