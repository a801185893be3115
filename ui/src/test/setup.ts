import "@testing-library/jest-dom/vitest";
import { afterEach } from "vitest";
import { resetBackend } from "./backend";

afterEach(() => {
  resetBackend();
});
