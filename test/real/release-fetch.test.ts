/**
 * The release-fetch script, run for real with bash, curl, sha256sum and tar against a tarball
 * served by a loopback python http.server.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { releaseId, renderFetchVerifiedTarball, ReleaseFetchInput } from "../../components/render/release-fetch";

function freeLoopbackPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as { port: number }).port;
            s.close(() => resolve(port));
        });
    });
}

function which(cmd: string): boolean {
    return spawnSync("bash", ["-c", `command -v ${cmd}`]).status === 0;
}

describe("release fetch (real bash, curl, tar)", function () {
    this.timeout(60_000);
    let dir: string;
    let server: ChildProcess | undefined;
    let requests: string[] = [];
    let base: string;
    const tarballs: Record<string, { sha: string; file: string }> = {};

    const makeTarball = (version: string, body: string) => {
        const src = join(dir, "src", version);
        mkdirSync(join(src, `app-${version}`, "assets"), { recursive: true });
        writeFileSync(join(src, `app-${version}`, "index.html"), body);
        writeFileSync(join(src, `app-${version}`, "assets", "app.js"), `console.log(${JSON.stringify(version)});\n`);
        const file = join(dir, "www", `app-${version}.tar.gz`);
        const r = spawnSync("tar", ["-czf", file, "-C", src, `app-${version}`]);
        assert.equal(r.status, 0, String(r.stderr));
        tarballs[version] = { sha: createHash("sha256").update(readFileSync(file)).digest("hex"), file };
    };

    /** The server's log arrives asynchronously: wait (bounded) until `n` requests are logged, then a little longer. */
    const logged = async (n: number): Promise<number> => {
        const deadline = Date.now() + 3_000;
        while (requests.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 300));
        return requests.length;
    };

    const run = (i: ReleaseFetchInput) => spawnSync("bash", ["-c", renderFetchVerifiedTarball(i)], { encoding: "utf8", timeout: 30_000 });

    before(async function () {
        for (const tool of ["bash", "curl", "tar", "sha256sum", "python3"]) {
            if (!which(tool)) {
                console.log(`    skipping: ${tool} is not installed`);
                this.skip();
            }
        }
        dir = mkdtempSync(join(tmpdir(), "matrix-maas-release-"));
        mkdirSync(join(dir, "www"));
        makeTarball("1.0.0", "<html>one</html>\n");
        makeTarball("1.1.0", "<html>two</html>\n");
        makeTarball("1.2.0", "<html>three</html>\n");
        const port = await freeLoopbackPort();
        base = `http://127.0.0.1:${port}`;
        server = spawn("python3", ["-u", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", join(dir, "www")], { stdio: ["ignore", "pipe", "pipe"] });
        server.stderr!.on("data", (d: Buffer) => requests.push(...d.toString().split("\n").filter((l) => l.includes('"GET '))));
        const deadline = Date.now() + 15_000;
        while (spawnSync("curl", ["-fsS", "-I", "-o", "/dev/null", `${base}/`]).status !== 0) {
            if (Date.now() > deadline) throw new Error("python http.server did not start within 15s");
            await new Promise((r) => setTimeout(r, 200));
        }
        requests = [];
    });

    after(() => {
        if (server?.pid) server.kill("SIGTERM");
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const input = (version: string, over: Partial<ReleaseFetchInput> = {}): ReleaseFetchInput => ({
        url: `${base}/app-${version}.tar.gz`,
        sha256: tarballs[version].sha,
        destination: join(dir, "install"),
        version: `v${version}`,
        allowLoopbackHttp: true,
        ...over,
    });

    it("accepts only https URLs unless loopback http is explicitly allowed", () => {
        assert.throws(() => renderFetchVerifiedTarball({ ...input("1.0.0"), allowLoopbackHttp: false }), /url must be an https:\/\/ URL/);
        assert.throws(() => renderFetchVerifiedTarball({ ...input("1.0.0"), url: "http://example.org/a.tar.gz" }), /https/);
        assert.throws(() => renderFetchVerifiedTarball({ ...input("1.0.0"), sha256: "ABC" }), /sha256/);
        assert.throws(() => renderFetchVerifiedTarball({ ...input("1.0.0"), destination: "relative/dir" }), /destination/);
        assert.match(renderFetchVerifiedTarball({ ...input("1.0.0"), url: "https://github.com/x/y/releases/download/v1/a.tar.gz", allowLoopbackHttp: false }), /--proto =https --proto-redir =https/);
    });

    it("rejects a tarball whose sha256 differs and extracts nothing", async () => {
        const r = run(input("1.0.0", { sha256: tarballs["1.1.0"].sha }));
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /sha256 mismatch/);
        assert.equal(existsSync(join(dir, "install", "current")), false);
        assert.deepEqual(readdirSync(join(dir, "install", "releases")), [], "no release directory");
        assert.deepEqual(readdirSync(join(dir, "install")).filter((n) => n.startsWith(".fetch")), [], "temp dir cleaned up");
        assert.equal(await logged(1), 1, "it did download");
    });

    it("accepts the right one, strips the top directory and switches current", async () => {
        requests = [];
        const r = run(input("1.0.0"));
        assert.equal(r.status, 0, r.stderr);
        const id = releaseId({ version: "v1.0.0", sha256: tarballs["1.0.0"].sha });
        assert.equal(readlinkSync(join(dir, "install", "current")), `releases/${id}`);
        assert.equal(readFileSync(join(dir, "install", "current", "index.html"), "utf8"), "<html>one</html>\n");
        assert.ok(existsSync(join(dir, "install", "current", "assets", "app.js")));
        assert.equal(statSync(join(dir, "install", "current", "index.html")).mode & 0o777, 0o644);
        assert.equal(statSync(join(dir, "install", "releases", id)).mode & 0o777, 0o755);
        assert.equal(await logged(1), 1);
    });

    it("a second run is a no-op: no download, same directory", async () => {
        requests = [];
        const id = releaseId({ version: "v1.0.0", sha256: tarballs["1.0.0"].sha });
        const before = statSync(join(dir, "install", "releases", id));
        const r = run(input("1.0.0"));
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /already current/);
        assert.equal(await logged(1), 0, "nothing downloaded");
        const after = statSync(join(dir, "install", "releases", id));
        assert.equal(after.ino, before.ino);
        assert.equal(after.mtimeMs, before.mtimeMs);
    });

    it("a bad sha256 for a new release leaves the current one in place", () => {
        const r = run(input("1.1.0", { sha256: "0".repeat(64) }));
        assert.notEqual(r.status, 0);
        assert.equal(readFileSync(join(dir, "install", "current", "index.html"), "utf8"), "<html>one</html>\n");
    });

    it("upgrades atomically and keeps one previous release", async () => {
        assert.equal(run(input("1.1.0")).status, 0);
        assert.equal(readFileSync(join(dir, "install", "current", "index.html"), "utf8"), "<html>two</html>\n");
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(run(input("1.2.0")).status, 0);
        assert.equal(readFileSync(join(dir, "install", "current", "index.html"), "utf8"), "<html>three</html>\n");
        const dirs = readdirSync(join(dir, "install", "releases")).filter((n) => !n.endsWith(".sha256")).sort();
        assert.deepEqual(dirs, [releaseId({ version: "v1.1.0", sha256: tarballs["1.1.0"].sha }), releaseId({ version: "v1.2.0", sha256: tarballs["1.2.0"].sha })]);
        assert.equal(statSync(join(dir, "install", "current")).isDirectory(), true);
    });
});
