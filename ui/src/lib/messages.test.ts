import { describe, expect, test } from "vitest";
import { describeError, explainAuthorizationReason } from "./messages";

describe("plain-words errors", () => {
  test("codes the contract singles out get their own sentence", () => {
    expect(describeError({ code: "access_denied", message: "error=access_denied" })).toBe(
      "You declined access in the browser. Click Authorize to try again.",
    );
    expect(describeError({ code: "unsafe_address", message: "10.0.0.7 is a private address" })).toContain(
      "refuses to contact (10.0.0.7 is a private address)",
    );
    expect(describeError({ code: "vault_wrong_passphrase", message: "x" })).toBe(
      "That passphrase does not open the vault.",
    );
  });

  test("anything else shows the backend's message", () => {
    expect(describeError({ code: "request_failed", message: "HTTP 502 from upstream" })).toBe("HTTP 502 from upstream.");
  });

  test("failed reasons may be a code, a code with detail, or a message", () => {
    expect(explainAuthorizationReason("authorization_timeout")).toContain(
      "The browser did not come back within the time limit",
    );
    expect(explainAuthorizationReason("unsafe_address: metadata points at 169.254.169.254")).toContain(
      "(metadata points at 169.254.169.254)",
    );
    expect(explainAuthorizationReason("The authorization server answered error=access_denied")).toBe(
      "You declined access in the browser. Click Authorize to try again.",
    );
    expect(explainAuthorizationReason("Token endpoint returned 500")).toBe("Token endpoint returned 500.");
  });
});
