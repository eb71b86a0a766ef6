/**
 * The rendered nginx config, run by Debian's real nginx on loopback: `nginx -t`, then curl with
 * --resolve against the well-known documents, Element's static vhost, the admin UI under a path,
 * the HTTP->HTTPS redirect, and the Matrix APIs proxied to a real Synapse (test/real/harness.ts).
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NginxServerOptions, NginxSite, renderNginxSites } from "../../components/render/nginx";
import { renderWellKnown } from "../../components/render/wellknown";
import { renderAdminUiConfig } from "../../components/render/admin-ui";
import { renderSigningKey } from "../../components/render/signing-key";
import { resolveSynapseSettings } from "../../components/render/synapse-settings";
import { databaseSchema, emailSchema, synapseSchema } from "../../components/config/schema";
import * as harness from "./harness";

const NGINX = "/usr/sbin/nginx";
const HS = "matrix.example.test";
const CHAT = "chat.example.test";
const MATRIX_DOMAIN = "example.test";
const BARE = "bare.example.test"; // a second Matrix domain without support contacts
const UNKNOWN = "unknown.example.test";
/** Synapse's max_upload_size, and so nginx's client_max_body_size. */
const MAX_UPLOAD = "64K";

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

interface CurlResult {
    status: number;
    headers: Record<string, string>;
    body: string;
    exit: number;
    httpVersion: string;
}

/** Synapse from the shared harness, when it exists: { port, stop }. */
interface RunningSynapse {
    port: number;
    serverName: string;
    /** Synapse's log (the access lines carry the client address it saw). */
    log: () => string;
    stop: () => Promise<void> | void;
}

describe("nginx (real, loopback)", function () {
    this.timeout(600_000);
    let dir: string;
    let nginx: ChildProcess | undefined;
    let synapse: RunningSynapse | undefined;
    let synapseSkipReason = "";
    const ports = { http: 0, https: 0, federation: 0, synapse: 0 };
    let conf: string;

    /** curl with --resolve for every name to 127.0.0.1 (or ::1), the test CA, a bounded time. */
    const curl = (url: string, opts: { method?: string; iface?: string; v6?: boolean; data?: string; extra?: string[] } = {}): CurlResult => {
        const addr = opts.v6 ? "[::1]" : "127.0.0.1";
        const resolve = [HS, CHAT, MATRIX_DOMAIN, BARE, UNKNOWN].flatMap((n) =>
            [ports.http, ports.https, ports.federation].flatMap((p) => ["--resolve", `${n}:${p}:${addr}`]),
        );
        const hdrFile = join(dir, "curl-headers.txt");
        rmSync(hdrFile, { force: true });
        const args = [
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            join(dir, "tls", "cert.pem"),
            "-D",
            hdrFile,
            "-w",
            "\n%{http_code} %{http_version}",
            ...resolve,
            ...(opts.method ? (opts.method === "HEAD" ? ["-I"] : ["-X", opts.method]) : []),
            ...(opts.iface ? ["--interface", opts.iface] : []),
            ...(opts.data !== undefined ? ["--data-binary", "@-"] : []),
            ...(opts.extra ?? []),
            url,
        ];
        const r = spawnSync("curl", args, { encoding: "utf8", input: opts.data, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
        const out = r.stdout ?? "";
        const nl = out.lastIndexOf("\n");
        const [code, httpVersion] = out.slice(nl + 1).split(" ");
        const headers: Record<string, string> = {};
        if (existsSync(hdrFile)) {
            for (const line of readFileSync(hdrFile, "utf8").split(/\r?\n/)) {
                const i = line.indexOf(":");
                if (i > 0 && !line.startsWith("HTTP/")) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
            }
        }
        return { status: Number(code), headers, body: opts.method === "HEAD" ? "" : out.slice(0, nl), exit: r.status ?? -1, httpVersion };
    };
    const https = (host: string, path: string, port = ports.https) => `https://${host}:${port}${path}`;

    const wellKnownDocs = renderWellKnown({
        homeserverDomain: HS,
        identityServer: "https://vector.im",
        clientExtras: { "io.element.e2ee": { default: true } },
        supportContacts: [{ role: "m.role.admin", matrixId: `@admin:${MATRIX_DOMAIN}`, emailAddress: `admin@${MATRIX_DOMAIN}` }],
        supportPage: "https://example.test/support",
    });
    const bareDocs = renderWellKnown({ homeserverDomain: HS });

    /** Postgres + Synapse through the shared harness; records why when they cannot run here. */
    async function startSynapseFromHarness(): Promise<void> {
        const missing = harness.missingTools();
        if (missing) {
            synapseSkipReason = missing;
            return;
        }
        try {
            synapse = await startRealSynapse(harness.serviceTempDir("matrix-maas-nginx-synapse-"));
        } catch (e) {
            synapseSkipReason = `the harness could not start Synapse: ${(e as Error).message}`;
        }
    }

    before(async function () {
        for (const [tool, ok] of [
            ["nginx", existsSync(NGINX)],
            ["curl", spawnSync("bash", ["-c", "command -v curl"]).status === 0],
            ["openssl", spawnSync("bash", ["-c", "command -v openssl"]).status === 0],
        ] as const) {
            if (!ok) {
                console.log(`    skipping: ${tool} is not installed`);
                this.skip();
            }
        }
        if (process.getuid && process.getuid() !== 0) {
            console.log("    skipping: nginx must run as root here (it switches to an unprivileged worker user)");
            this.skip();
        }
        dir = mkdtempSync(join(tmpdir(), "matrix-maas-nginx-"));
        chmodSync(dir, 0o755); // the worker user reads the static roots
        ports.http = await freeLoopbackPort();
        ports.https = await freeLoopbackPort();
        ports.federation = await freeLoopbackPort();

        // Self-signed certificate covering every name.
        mkdirSync(join(dir, "tls"));
        const san = [HS, CHAT, MATRIX_DOMAIN, BARE].map((n) => `DNS:${n}`).join(",");
        const gen = spawnSync(
            "openssl",
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${HS}`, "-addext", `subjectAltName=${san}`, "-keyout", join(dir, "tls", "key.pem"), "-out", join(dir, "tls", "cert.pem")],
            { encoding: "utf8", timeout: 30_000 },
        );
        assert.equal(gen.status, 0, gen.stderr);

        // Static files: Element, the admin UI release + its config, the well-known documents.
        mkdirSync(join(dir, "www", "element"), { recursive: true });
        writeFileSync(join(dir, "www", "element", "index.html"), "<!doctype html><title>Element</title>\n");
        writeFileSync(join(dir, "www", "element", "config.json"), JSON.stringify({ default_server_config: { "m.homeserver": { base_url: `https://${HS}` } } }) + "\n");
        writeFileSync(join(dir, "www", "element", "bundle.js"), "console.log('element');\n");
        mkdirSync(join(dir, "www", "admin", "current"), { recursive: true });
        writeFileSync(join(dir, "www", "admin", "current", "index.html"), "<!doctype html><title>Synapse Admin</title>\n");
        writeFileSync(join(dir, "www", "admin", "current", "config.json"), '{"restrictBaseUrl":"https://wrong.example"}\n');
        writeFileSync(join(dir, "www", "admin", "config.json"), renderAdminUiConfig({ homeserverUrl: `https://${HS}` }));
        for (const [domain, docs] of [[MATRIX_DOMAIN, wellKnownDocs], [BARE, bareDocs]] as const) {
            mkdirSync(join(dir, "wk", domain), { recursive: true });
            writeFileSync(join(dir, "wk", domain, "server"), docs.server);
            writeFileSync(join(dir, "wk", domain, "client"), docs.client);
            if (docs.support) writeFileSync(join(dir, "wk", domain, "support"), docs.support);
        }
        spawnSync("chmod", ["-R", "a+rX", join(dir, "www"), join(dir, "wk")]);

        await startSynapseFromHarness();
        if (synapse) ports.synapse = synapse.port;
        else {
            console.log(`    note: ${synapseSkipReason}; the proxied-API tests will be skipped`);
            ports.synapse = await freeLoopbackPort(); // nothing listens: nginx answers 502
        }

        // The component's sites, adapted only through render parameters (ports, paths, cert paths).
        const sites: NginxSite[] = [
            { serverName: HS, matrixApi: { upstream: `127.0.0.1:${ports.synapse}`, maxBodySize: MAX_UPLOAD, adminAllowlist: ["127.0.0.1/32"], federationPort: true } },
            { serverName: CHAT, apps: [{ urlPath: "/", root: join(dir, "www", "element") }] },
            { serverName: CHAT, apps: [{ urlPath: "/admin", root: join(dir, "www", "admin", "current"), fileOverrides: { "config.json": join(dir, "www", "admin", "config.json") } }] },
            { serverName: MATRIX_DOMAIN, wellKnown: { documentRoot: join(dir, "wk", MATRIX_DOMAIN), support: wellKnownDocs.support !== undefined } },
            { serverName: BARE, wellKnown: { documentRoot: join(dir, "wk", BARE), support: bareDocs.support !== undefined } },
        ];
        const options: NginxServerOptions = {
            listenAddresses: ["127.0.0.1", "::1"],
            httpPort: ports.http,
            httpsPort: ports.https,
            federationPort: ports.federation,
            certificatePath: join(dir, "tls", "cert.pem"),
            keyPath: join(dir, "tls", "key.pem"),
            acmeWebroot: join(dir, "acme"),
            confDir: join(dir, "conf.d"),
        };
        mkdirSync(join(dir, "conf.d"));
        mkdirSync(join(dir, "acme", ".well-known", "acme-challenge"), { recursive: true });
        writeFileSync(join(dir, "acme", ".well-known", "acme-challenge", "token123"), "token123.thumbprint");
        spawnSync("chmod", ["-R", "a+rX", join(dir, "acme")]);
        for (const f of renderNginxSites(sites, options)) writeFileSync(f.path, f.content);

        // A top-level nginx.conf shaped like Debian's (same http-level ssl directives), paths in the temp dir.
        mkdirSync(join(dir, "logs"));
        conf = join(dir, "nginx.conf");
        writeFileSync(
            conf,
            `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log ${dir}/logs/access.log;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    gzip on;
    include ${dir}/conf.d/*.conf;
}
`,
        );
        mkdirSync(join(dir, "tmp"));
    });

    after(async () => {
        if (nginx?.pid) {
            nginx.kill("SIGQUIT");
            await new Promise((r) => setTimeout(r, 300));
            if (nginx.exitCode === null) nginx.kill("SIGKILL");
        }
        if (synapse) await synapse.stop();
        if (dir && !process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    });

    it("passes nginx -t", () => {
        const r = spawnSync(NGINX, ["-t", "-c", conf, "-p", `${dir}/`], { encoding: "utf8", timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /syntax is ok/);
        assert.match(r.stderr, /test is successful/);
        assert.doesNotMatch(r.stderr, /\[warn\]/, "no warnings");
    });

    it("starts and listens on IPv4 and IPv6 loopback", async () => {
        nginx = spawn(NGINX, ["-c", conf, "-p", `${dir}/`, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        nginx.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        const deadline = Date.now() + 15_000;
        while (curl(https(CHAT, "/index.html")).status !== 200) {
            if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not come up: ${err} ${readFileSync(join(dir, "logs", "error.log"), "utf8")}`);
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(curl(https(CHAT, "/index.html"), { v6: true }).status, 200, "IPv6 listener");
    });

    it("negotiates HTTP/2 over TLS", () => {
        const r = curl(https(CHAT, "/index.html"), { extra: ["--http2"] });
        assert.equal(r.status, 200);
        assert.equal(r.httpVersion, "2");
    });

    describe("well-known delegation", () => {
        for (const doc of ["server", "client", "support"] as const) {
            it(`serves /.well-known/matrix/${doc} as application/json with CORS`, () => {
                const r = curl(https(MATRIX_DOMAIN, `/.well-known/matrix/${doc}`));
                assert.equal(r.status, 200);
                assert.equal(r.headers["content-type"], "application/json");
                assert.equal(r.headers["access-control-allow-origin"], "*");
                assert.deepEqual(JSON.parse(r.body), JSON.parse(wellKnownDocs[doc]!));
            });
        }
        it("has the expected content", () => {
            assert.deepEqual(JSON.parse(curl(https(MATRIX_DOMAIN, "/.well-known/matrix/server")).body), { "m.server": `${HS}:443` });
            assert.equal(JSON.parse(curl(https(MATRIX_DOMAIN, "/.well-known/matrix/client")).body)["m.homeserver"].base_url, `https://${HS}`);
            assert.equal(JSON.parse(curl(https(MATRIX_DOMAIN, "/.well-known/matrix/support")).body).contacts[0].matrix_id, `@admin:${MATRIX_DOMAIN}`);
        });
        it("answers 404 for support when there is nothing to publish (not {})", () => {
            const r = curl(https(BARE, "/.well-known/matrix/support"));
            assert.equal(r.status, 404);
            assert.notEqual(r.body.trim(), "{}");
            assert.equal(curl(https(BARE, "/.well-known/matrix/server")).status, 200);
        });
        it("refuses other methods with 405, answers HEAD and the CORS preflight", () => {
            for (const m of ["POST", "PUT", "DELETE"]) {
                const r = curl(https(MATRIX_DOMAIN, "/.well-known/matrix/client"), { method: m });
                assert.equal(r.status, 405, m);
                assert.equal(r.headers["access-control-allow-origin"], "*");
            }
            const head = curl(https(MATRIX_DOMAIN, "/.well-known/matrix/server"), { method: "HEAD" });
            assert.equal(head.status, 200);
            assert.equal(head.headers["content-type"], "application/json");
            const pre = curl(https(MATRIX_DOMAIN, "/.well-known/matrix/client"), { method: "OPTIONS" });
            assert.equal(pre.status, 204);
            assert.equal(pre.headers["access-control-allow-origin"], "*");
        });
        it("answers 404 for anything else on the bare domain", () => {
            assert.equal(curl(https(MATRIX_DOMAIN, "/")).status, 404);
            assert.equal(curl(https(MATRIX_DOMAIN, "/_matrix/client/versions")).status, 404);
        });
    });

    describe("Element static vhost", () => {
        const security = (r: CurlResult) => {
            assert.equal(r.headers["x-frame-options"], "SAMEORIGIN");
            assert.equal(r.headers["x-content-type-options"], "nosniff");
            assert.equal(r.headers["referrer-policy"], "strict-origin-when-cross-origin");
            assert.match(r.headers["content-security-policy"] ?? "", /frame-ancestors 'self'/);
            assert.equal(r.headers["strict-transport-security"], "max-age=31536000");
        };
        it("serves config.json with the security headers and Cache-Control: no-cache", () => {
            const r = curl(https(CHAT, "/config.json"));
            assert.equal(r.status, 200);
            assert.equal(r.headers["content-type"], "application/json");
            assert.equal(JSON.parse(r.body).default_server_config["m.homeserver"].base_url, `https://${HS}`);
            security(r);
            assert.equal(r.headers["cache-control"], "no-cache");
        });
        it("serves / (index.html) with the security headers and no-cache", () => {
            const r = curl(https(CHAT, "/"));
            assert.equal(r.status, 200);
            assert.match(r.body, /<title>Element<\/title>/);
            security(r);
            assert.equal(r.headers["cache-control"], "no-cache");
        });
        it("serves other assets with the security headers and without no-cache", () => {
            const r = curl(https(CHAT, "/bundle.js"));
            assert.equal(r.status, 200);
            security(r);
            assert.equal(r.headers["cache-control"], undefined);
            const missing = curl(https(CHAT, "/nope.js"));
            assert.equal(missing.status, 404);
            security(missing);
        });
        it("serves the admin UI under /admin with its own config.json (restrictBaseUrl)", () => {
            const redirect = curl(https(CHAT, "/admin"));
            assert.equal(redirect.status, 301);
            assert.equal(redirect.headers.location, `https://${CHAT}:${ports.https}/admin/`);
            const index = curl(https(CHAT, "/admin/"));
            assert.equal(index.status, 200);
            assert.match(index.body, /Synapse Admin/);
            security(index);
            assert.equal(index.headers["cache-control"], "no-cache");
            const cfg = curl(https(CHAT, "/admin/config.json"));
            assert.equal(cfg.status, 200);
            assert.deepEqual(JSON.parse(cfg.body), { restrictBaseUrl: `https://${HS}` }, "the override, not the file inside the release");
            security(cfg);
        });
    });

    describe("HTTP and unknown names", () => {
        it("redirects HTTP to HTTPS on every name, keeping path and query", () => {
            for (const host of [CHAT, HS, MATRIX_DOMAIN]) {
                const r = curl(`http://${host}:${ports.http}/some/path?x=1`);
                assert.equal(r.status, 301, host);
                assert.equal(r.headers.location, `https://${host}:${ports.https}/some/path?x=1`);
            }
        });
        it("serves ACME http-01 challenges over plain HTTP", () => {
            const r = curl(`http://${HS}:${ports.http}/.well-known/acme-challenge/token123`);
            assert.equal(r.status, 200);
            assert.equal(r.body, "token123.thumbprint");
        });
        it("gives unknown names nothing: empty reply on HTTP, no TLS handshake on HTTPS", () => {
            assert.equal(curl(`http://${UNKNOWN}:${ports.http}/`).exit, 52, "curl: empty reply from server");
            const tlsFail = curl(https(UNKNOWN, "/"), { extra: ["-k"] });
            assert.notEqual(tlsFail.exit, 0);
            assert.equal(tlsFail.status, 0);
        });
    });

    describe("Matrix APIs", () => {
        it("refuses /_synapse/admin from outside the allowlist (403)", () => {
            for (const opts of [{ iface: "127.0.0.2" }, { v6: true }]) {
                const r = curl(https(HS, "/_synapse/admin/v1/server_version"), opts);
                assert.equal(r.status, 403, JSON.stringify(opts));
                assert.match(r.body, /403 Forbidden/);
            }
        });
        it("refuses a body above Synapse's max upload size (413 from nginx)", () => {
            const r = curl(https(HS, "/_matrix/media/v3/upload"), { method: "POST", data: "x".repeat(100 * 1024), extra: ["-H", "Content-Type: application/octet-stream"] });
            assert.equal(r.status, 413);
        });
        it("proxies /_matrix/client/versions to the real Synapse", function () {
            if (!synapse) {
                console.log(`    skipping: ${synapseSkipReason}`);
                this.skip();
            }
            const r = curl(https(HS, "/_matrix/client/versions"));
            assert.equal(r.status, 200, r.body);
            const body = JSON.parse(r.body);
            assert.ok(Array.isArray(body.versions) && body.versions.includes("v1.1"), r.body);
            assert.equal(r.headers["strict-transport-security"], "max-age=31536000");
            assert.equal(r.httpVersion, "2");
            const v6 = curl(https(HS, "/_matrix/client/versions"), { v6: true });
            assert.equal(v6.status, 200);
        });
        it("passes the real client address in X-Forwarded-For, ignoring a spoofed one", async function () {
            if (!synapse) this.skip();
            const marker = `xff${Date.now()}`;
            const r = curl(https(HS, `/_matrix/client/versions?${marker}`), { iface: "127.0.0.2", extra: ["-H", "X-Forwarded-For: 203.0.113.9"] });
            assert.equal(r.status, 200);
            let line: string | undefined;
            const deadline = Date.now() + 10_000;
            while (!(line = synapse!.log().split("\n").find((l) => l.includes(marker))) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
            assert.ok(line, "Synapse logged the request");
            assert.match(line, / - 127\.0\.0\.2 - /, line);
            assert.doesNotMatch(line, /203\.0\.113\.9/);
        });
        it("serves federation on the extra federation port", function () {
            if (!synapse) this.skip();
            const r = curl(https(HS, "/_matrix/federation/v1/version", ports.federation));
            assert.equal(r.status, 200, r.body);
            assert.equal(typeof JSON.parse(r.body).server.name, "string");
        });
        it("lets the allowlisted source reach the admin API", function () {
            if (!synapse) this.skip();
            const r = curl(https(HS, "/_synapse/admin/v1/server_version"), { iface: "127.0.0.1" });
            assert.equal(r.status, 200, r.body);
            assert.equal(typeof JSON.parse(r.body).server_version, "string");
        });
    });
});

/**
 * Postgres and Synapse (homeserver.yaml + conf.d from our renderer) on loopback, with the same
 * max upload size nginx enforces. Returns the listener port and a stop function for both.
 */
async function startRealSynapse(root: string): Promise<RunningSynapse> {
    let pg: harness.Postgres;
    try {
        pg = await harness.startPostgres(root);
    } catch (e) {
        rmSync(root, { recursive: true, force: true });
        throw e;
    }
    try {
        const password = randomBytes(18).toString("base64url");
        harness.createSynapseDatabase(pg, { name: "synapse", user: "synapse_user", password });
        const port = await harness.freePort();
        const settings = resolveSynapseSettings({
            serverName: MATRIX_DOMAIN,
            homeserverDomain: HS,
            synapse: synapseSchema.parse({ listenerPort: port, media: { maxUploadSize: MAX_UPLOAD, storePath: join(root, "media") } }),
            database: databaseSchema.parse({ host: pg.host, port: pg.port }),
            email: emailSchema.parse({}),
            layout: { configDir: join(root, "etc"), dataDir: join(root, "data"), logDir: join(root, "log"), user: harness.SERVICE_USER, group: "nogroup" },
        });
        const secret = () => randomBytes(24).toString("base64url");
        const { privateKey } = generateKeyPairSync("ed25519");
        const signingKey = renderSigningKey(privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "a_test");
        const proc = await harness.startSynapse({
            settings,
            secrets: { registrationSharedSecret: secret(), macaroonSecretKey: secret(), formSecret: secret(), passwordPepper: secret(), databasePassword: password },
            signingKey,
            timeoutMs: 180_000,
        });
        return {
            port: proc.port,
            serverName: MATRIX_DOMAIN,
            log: () => readFileSync(proc.logFile, "utf8"),
            stop: async () => {
                await proc.stop();
                pg.stop();
                if (!process.env.KEEP_TMP) rmSync(root, { recursive: true, force: true });
            },
        };
    } catch (e) {
        pg.stop();
        rmSync(root, { recursive: true, force: true });
        throw e;
    }
}
