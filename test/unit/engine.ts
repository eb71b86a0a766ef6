/**
 * The one shared mock engine of the unit tests: installed once, before any code under test is
 * imported (every test file awaits `engine()` in `before` and then requires what it tests).
 */
import { installMockEngine, MockEngine } from "../../scripts/lib/mock-engine";

let ready: Promise<MockEngine> | undefined;

export function engine(): Promise<MockEngine> {
    ready ??= installMockEngine("matrix-maas", "unit");
    return ready;
}

/** A throwaway SSH private key string for host args (never a real key). */
export const TEST_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-ssh-key-value\n-----END OPENSSH PRIVATE KEY-----\n";
