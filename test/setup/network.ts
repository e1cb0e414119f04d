import { afterAll, afterEach, beforeAll } from "vitest";
import { network } from "../support/network";

beforeAll(() => network.enable());
afterEach(() => network.resetHandlers());
afterAll(() => network.disable());
