import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { engine, TEST_SSH_KEY } from "./engine";
import { isSecretWrapper, MockEngine, settle } from "../../scripts/lib/mock-engine";

type HostModule = typeof import("../../components/host");

describe("host layer (mocks)", () => {
    let e: MockEngine;
    let h: HostModule;
    const host = { name: "h", address: "::1", privateKey: TEST_SSH_KEY };
    const cmd = (name: string) => e.registrations.find((r) => r.name === name)!;

    before(async () => {
        e = await engine();
        h = require("../../components/host");
    });

    it("RemoteFile sends content on stdin, never on the command line", async () => {
        new h.RemoteFile("rf1", { host, path: "/etc/demo/a.conf", content: "hello-content-xyz\n", owner: "root", group: "adm", mode: "0640" });
        await settle();
        const c = cmd("rf1-write");
        assert.equal(c.inputs.stdin, "hello-content-xyz\n");
        assert.ok(!String(c.inputs.create).includes("hello-content-xyz"));
        assert.match(String(c.inputs.create), /^bash -c 'set -euo pipefail\n/);
        assert.match(String(c.inputs.create), /chmod 0640/);
        assert.deepEqual(c.inputs.triggers.slice(0, 5), ["file", "h", "/etc/demo/a.conf", "root:adm", "0640"]);
        assert.match(c.inputs.triggers[5], /^[0-9a-f]{64}$/);
    });

    it("RemoteFile with secret content: secret stdin and hash, logging none", async () => {
        new h.RemoteFile("rf2", { host, path: "/etc/demo/b.conf", content: "top-secret-bytes", secret: true, mode: "0600" });
        await settle();
        const c = cmd("rf2-write");
        assert.equal(c.inputs.logging, "none");
        assert.equal(typeof c.wrappedInputs.stdin, "object");
        assert.ok(c.additionalSecretOutputs.includes("stdin"), `${c.additionalSecretOutputs}`);
    });

    it("the same content gives the same trigger hash, other content another", async () => {
        new h.RemoteFile("rf3", { host, path: "/etc/demo/a.conf", content: "hello-content-xyz\n", owner: "root", group: "adm", mode: "0640" });
        new h.RemoteFile("rf4", { host, path: "/etc/demo/a.conf", content: "hello-content-xyZ\n", owner: "root", group: "adm", mode: "0640" });
        await settle();
        assert.equal(cmd("rf3-write").inputs.triggers[5], cmd("rf1-write").inputs.triggers[5]);
        assert.notEqual(cmd("rf4-write").inputs.triggers[5], cmd("rf1-write").inputs.triggers[5]);
    });

    it("RemoteFile refuses relative paths and odd modes", () => {
        assert.throws(() => new h.RemoteFile("rf5", { host, path: "etc/x", content: "" }), /absolute/);
        assert.throws(() => new h.RemoteFile("rf6", { host, path: "/etc/x", content: "", mode: "rwx" }), /octal/);
        assert.throws(() => new h.RemoteFile("rf7", { host, path: "/etc/x; rm -rf /", content: "" }), /absolute and plain/);
    });

    it("the RemoteFile script really writes atomically with owner and mode, and is idempotent", function () {
        if (process.getuid?.() !== 0) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rf-"));
        const target = path.join(dir, "sub", "file.conf");
        new h.RemoteFile("rf8", { host, path: target, content: "x", owner: "root", group: "root", mode: "0600" });
        return settle().then(() => {
            const create = String(cmd("rf8-write").inputs.create);
            // The command is `bash -c '<script>'`: run it the way sshd would, through a shell.
            const r1 = spawnSync("sh", ["-c", create], { input: "first\n", encoding: "utf8" });
            assert.equal(r1.status, 0, r1.stderr);
            assert.equal(fs.readFileSync(target, "utf8"), "first\n");
            assert.equal((fs.statSync(target).mode & 0o777).toString(8), "600");
            const mtime = fs.statSync(target).mtimeMs;
            const r2 = spawnSync("sh", ["-c", create], { input: "first\n", encoding: "utf8" });
            assert.equal(r2.status, 0, r2.stderr);
            assert.equal(fs.statSync(target).mtimeMs, mtime, "unchanged content is not rewritten");
            assert.equal(fs.readdirSync(path.dirname(target)).length, 1, "no temp file left behind");
            fs.rmSync(dir, { recursive: true, force: true });
        });
    });

    it("Service restarts only on file hash changes and checks the unit became active", async () => {
        const f = new h.RemoteFile("rf9", { host, path: "/etc/demo/c.conf", content: "c" });
        new h.Service("svc1", { host, unit: "demo.service", fileHashes: [f.hash] });
        await settle();
        const c = cmd("svc1-restart");
        assert.equal(c.inputs.triggers[0], "demo.service");
        assert.equal(c.inputs.triggers[1], cmd("rf9-write").inputs.triggers[5]);
        assert.match(String(c.inputs.create), /systemctl restart demo\.service/);
        assert.match(String(c.inputs.create), /is-active/);
        assert.throws(() => new h.Service("svc2", { host, unit: "demo; reboot" }), /systemd unit name/);
    });

    it("Packages pins repositories with signed-by keyrings and rejects bad names", async () => {
        new h.Packages("pk1", {
            host,
            packages: ["nginx", "coturn=4.6.1-1"],
            repositories: [{ name: "example", uri: "https://deb.example.org/debian/", keyringUrl: "https://deb.example.org/key.gpg", keyringSha256: "ab".repeat(32) }],
        });
        await settle();
        const create = String(cmd("pk1-install").inputs.create);
        assert.match(create, /signed-by=\/etc\/apt\/keyrings\/example\.gpg/);
        assert.match(create, /sha256sum -c/);
        assert.match(create, /--force-confold/);
        assert.throws(() => new h.Packages("pk2", { host, packages: ["nginx; reboot"] }), /not a Debian package name/);
        assert.throws(() => new h.Packages("pk3", { host, packages: ["xz-utils"], repositories: [{ name: "e", uri: "http://insecure/", keyringUrl: "https://k" }] }), /https/);
    });

    it("a non-root SSH user runs scripts through sudo -n", async () => {
        new h.RemoteFile("rf10", { host: { ...host, user: "deploy" }, path: "/etc/demo/d.conf", content: "d" });
        await settle();
        assert.match(String(cmd("rf10-write").inputs.create), /^sudo -n bash -c /);
    });

    it("the SSH connection carries the private key as a secret", async () => {
        new h.RemoteFile("rf11", { host, path: "/etc/demo/e.conf", content: "e" });
        await settle();
        // @pulumi/command wraps the whole connection (address, user, key) as a secret.
        const conn = cmd("rf11-write").wrappedInputs.connection;
        assert.ok(isSecretWrapper(conn), "connection secret-wrapped");
        assert.equal(cmd("rf11-write").inputs.connection.privateKey, TEST_SSH_KEY);
    });
});
