import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const TS_NODE = path.join(ROOT, "node_modules/.bin/ts-node");

function plan(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(TS_NODE, ["--transpile-only", path.join(ROOT, "scripts/plan.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readTree(dir: string): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, entry.name);
            if (entry.isDirectory()) walk(p);
            else out.set(path.relative(dir, p), fs.readFileSync(p));
        }
    };
    walk(dir);
    return out;
}

describe("npm run plan", function () {
    this.timeout(300_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("writes byte-identical output on two runs of the same stack", () => {
        const a = plan(["--stack", "acme", "--out", path.join(tmp, "a")]);
        assert.equal(a.status, 0, a.stderr);
        const b = plan(["--stack", "acme", "--out", path.join(tmp, "b")]);
        assert.equal(b.status, 0, b.stderr);
        const ta = readTree(path.join(tmp, "a"));
        const tb = readTree(path.join(tmp, "b"));
        assert.ok(ta.size >= 20, `plan wrote ${ta.size} files`);
        assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
        for (const [k, v] of ta) assert.ok(v.equals(tb.get(k)!), `${k} differs between runs`);
    });

    it("lays files out as <host>/<absolute path> with placeholders for secrets", () => {
        const dir = path.join(tmp, "a");
        const keys = fs.readFileSync(path.join(dir, "main/etc/matrix-synapse/conf.d/keys.yaml"), "utf8");
        assert.match(keys, /^registration_shared_secret: <secret:acme-homeserver-registration-shared-secret>$/m);
        const signing = fs.readFileSync(path.join(dir, "main/etc/matrix-synapse/acme.example.signing.key"), "utf8");
        assert.match(signing, /^ed25519 a_[A-Za-z0-9]{4} <secret:acme-homeserver-signing-key-seed>\n$/);
        const server = fs.readFileSync(path.join(dir, "main/etc/matrix-synapse/conf.d/server_name.yaml"), "utf8");
        assert.match(server, /^server_name: acme\.example$/m);
        assert.match(server, /^public_baseurl: https:\/\/acme\.matrix\.hoster\.example\/$/m);
        const resources = JSON.parse(fs.readFileSync(path.join(dir, "resources.json"), "utf8"));
        const all = JSON.stringify(resources);
        assert.ok(!all.includes("PRIVATE KEY"), "no key material in resources.json");
        const db = resources.resources.find((r: any) => r.type === "postgresql:index/database:Database");
        assert.equal(db.inputs.lcCollate, "C");
        assert.equal(db.parent, "acme-homeserver");
        const f = resources.files.find((x: any) => x.path === "/etc/matrix-synapse/conf.d/database.yaml");
        assert.deepEqual(f, { host: "main", path: "/etc/matrix-synapse/conf.d/database.yaml", owner: "root:matrix-synapse", mode: "0640" });
    });

    it("plans every committed stack", () => {
        for (const stack of ["staging", "prod"]) {
            const r = plan(["--stack", stack, "--out", path.join(tmp, stack)]);
            assert.equal(r.status, 0, r.stderr);
        }
        const email = fs.readFileSync(path.join(tmp, "prod/main/etc/matrix-synapse/conf.d/email.yaml"), "utf8");
        assert.match(email, /smtp_pass: <secret:smtpPassword>/);
    });

    it("exits non-zero naming the config key when the stack is invalid", () => {
        const proj = path.join(tmp, "proj");
        fs.mkdirSync(proj);
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(proj, "Pulumi.yaml"));
        fs.writeFileSync(
            path.join(proj, "Pulumi.bad.yaml"),
            "config:\n  matrix-maas:matrixDomain: example.org\n  matrix-maas:homeserverDomain: chat.example.org\n  matrix-maas:elementDomain: chat.example.org\n  matrix-maas:hosts: {main: {address: '::1'}}\n",
        );
        const r = plan(["--stack", "bad", "--out", path.join(tmp, "bad"), "--project-dir", proj]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /matrix-maas:elementDomain must differ from homeserverDomain/);
        assert.ok(!fs.existsSync(path.join(tmp, "bad")), "nothing written");
    });
});
