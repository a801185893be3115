// Start at login: the setting writes a freedesktop autostart entry that launches this very
// executable (an installed app's /usr/bin/gatehouse-app, a path package upgrades keep) with
// --hidden; launched that way, Gatehouse starts in the tray with its window closed, and "Open
// Gatehouse" in the tray menu opens it.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { World, appBinary, scenario } from "./lib/harness.mjs";
import { TrayHost } from "./lib/tray.mjs";

const world = new World("autostart");
let tray;

before(async () => {
  tray = await TrayHost.start(world);
  await world.launch({ args: ["--hidden"] });
});
after(() => world.close());

scenario(world, "launched with --hidden it starts in the tray; Open Gatehouse shows the window", async (app) => {
  await tray.waitForState("tray-idle", ["Gatehouse: no servers", "Open Gatehouse"]);
  await tray.waitForWindow("Gatehouse", false);
  await tray.click("Open Gatehouse");
  await tray.waitForWindow("Gatehouse", true);
  await app.waitAttr("app-summary", "data-state", "nothing_configured");
});

scenario(world, "Start at login writes an autostart entry for this executable, started hidden", async (app) => {
  // The autostart library writes under $HOME/.config (not $XDG_CONFIG_HOME); the app inherits the
  // test session's temporary HOME.
  const entry = join(process.env.HOME, ".config", "autostart", "Gatehouse.desktop");
  await app.click("nav-settings");
  const box = await app.waitFor("setting-autostart");
  await app.browser.waitUntil(() => box.isEnabled(), { timeout: 10000, timeoutMsg: "the setting never loaded" });
  assert.equal(await box.isSelected(), false);
  assert.equal(existsSync(entry), false);

  await box.click();
  const written = () => existsSync(entry) && /^TryExec=/m.test(readFileSync(entry, "utf8"));
  await app.browser.waitUntil(written, { timeout: 10000, timeoutMsg: `${entry} was not written with TryExec=` });
  const text = readFileSync(entry, "utf8");
  const exec = /^Exec=(.*)$/m.exec(text)?.[1];
  assert.equal(exec, `${appBinary} --hidden`, "the entry launches this executable, hidden");
  // Desktops skip the entry once this executable is gone (the package removed).
  assert.equal(/^TryExec=(.*)$/m.exec(text)?.[1], appBinary);

  await box.click();
  await app.browser.waitUntil(() => !existsSync(entry), { timeout: 10000, timeoutMsg: `${entry} was not removed` });
});
