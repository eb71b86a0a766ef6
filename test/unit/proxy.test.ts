import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { engine, TEST_SSH_KEY } from "./engine";
import { isSecretWrapper, MockEngine, plainStrings, Registration, resolve, settle } from "../../scripts/lib/mock-engine";

type ProxyModule = typeof import("../../components/proxy");
type WellKnownModule = typeof import("../../components/wellknown");
type AdminUiModule = typeof import("../../components/adminui");

const host = { name: "edge", address: "2001:db8::20", privateKey: pulumi.secret(TEST_SSH_KEY) };
const PROVIDED_KEY = "-----BEGIN PRIVATE KEY-----\nprovided-tls-private-key-value-for-test\n-----END PRIVATE KEY-----\n";
const PROVIDED_CERT = "-----BEGIN CERTIFICATE-----\nprovided-certificate-for-test\n-----END CERTIFICATE-----\n";
const MOCK_SELF_SIGNED_PEM = "-----BEGIN CERTIFICATE-----\nmock-self-signed\n-----END CERTIFICATE-----\n";

const under = (e: MockEngine, prefix: string) => e.registrations.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
const byName = (rs: Registration[], n: string) => {
    const r = rs.find((x) => x.name === n);
    assert.ok(r, `resource ${n} registered (have: ${rs.map((x) => x.name).join(", ")})`);
    return r;
};
const count = (rs: Registration[], type: string) => rs.filter((r) => r.type === type).length;

/** Every child sits under its component, named `<parent>-<role>`. */
function assertParented(rs: Registration[], root: string, token: string) {
    for (const r of rs) {
        if (r.name === root) continue;
        assert.ok(r.parent && r.name.startsWith(r.parent + "-"), `${r.name} has parent ${r.parent}`);
        assert.ok(r.parentUrn.includes(token), `${r.name} sits under ${token}`);
    }
}

/** No secret value in any string outside a secret wrapper. */
function assertNoLeak(rs: Registration[], secrets: string[]) {
    let checked = 0;
    for (const r of rs) {
        for (const { path, value } of plainStrings(r.wrappedInputs)) {
            checked++;
            for (const s of secrets) assert.ok(!value.includes(s.trim().split("\n")[1] ?? s), `${r.name}.${path} leaks a secret`);
        }
    }
    assert.ok(checked > 10, `scanned ${checked} strings`);
}

describe("ReverseProxy / WellKnownDelegation / AdminUi (mocks)", () => {
    let e: MockEngine;
    let proxy: ProxyModule;
    let wk: WellKnownModule;
    let admin: AdminUiModule;

    before(async () => {
        e = await engine();
        // The shared mock engine answers tls.SelfSignedCert with its inputs only; give it a certPem.
        const original = e.newResource.bind(e);
        e.newResource = (args) => {
            const res = original(args);
            if (args.type === "tls:index/selfSignedCert:SelfSignedCert") res.state.certPem = MOCK_SELF_SIGNED_PEM;
            return res;
        };
        proxy = require("../../components/proxy");
        wk = require("../../components/wellknown");
        admin = require("../../components/adminui");
    });

    describe("ReverseProxy with ACME", () => {
        let rs: Registration[];
        let rp: InstanceType<ProxyModule["ReverseProxy"]>;
        before(async () => {
            rp = new proxy.ReverseProxy("rp1", {
                host,
                homeserver: { domain: "matrix.example.org", upstreamPort: pulumi.output(8123), maxUploadSize: "100M" },
                element: { domain: "chat.example.org" },
                wellKnown: { domain: "example.org", support: pulumi.output(true) },
                adminUi: { path: "/admin" },
                tls: "acme",
                acmeEmail: "ops@example.org",
                adminAllowlist: ["2001:db8:1::/48"],
                federationPort8448: true,
            });
            await settle();
            rs = under(e, "rp1");
        });

        it("registers packages, one file per vhost, the deploy hook, reload and certbot, all under the component", () => {
            assert.equal(count(rs, "matrix-maas:index:ReverseProxy"), 1);
            assert.equal(count(rs, "matrix-maas:index:Packages"), 1);
            assert.deepEqual(
                rs.filter((r) => r.type === "matrix-maas:index:RemoteFile").map((r) => r.name).sort(),
                ["rp1-certbot-deploy-hook", "rp1-site-00-default", "rp1-site-chat-example-org", "rp1-site-example-org", "rp1-site-matrix-example-org"],
            );
            assert.ok(byName(rs, "rp1-reload"));
            assert.ok(byName(rs, "rp1-acme"));
            assert.equal(count(rs, "tls:index/selfSignedCert:SelfSignedCert"), 0);
            assertParented(rs, "rp1", "matrix-maas:index:ReverseProxy");
            assert.match(String(byName(rs, "rp1-packages-install").inputs.create), /nginx\W+openssl\W+curl\W+ca-certificates\W+certbot/);
        });

        it("renders the vhosts from output values (listener port, support flag)", () => {
            const hs = String(byName(rs, "rp1-site-matrix-example-org-write").inputs.stdin);
            assert.match(hs, /server 127\.0\.0\.1:8123;/);
            assert.match(hs, /client_max_body_size 100M;/);
            assert.match(hs, /listen \[::\]:443 ssl http2;/);
            assert.match(hs, /listen \[::\]:8448 ssl http2;/);
            assert.match(hs, /allow 2001:db8:1::\/48;\n\s+deny all;/);
            assert.match(hs, /location \^~ \/\.well-known\/acme-challenge\/ \{\n\s+root \/var\/www\/acme;/);
            const bare = String(byName(rs, "rp1-site-example-org-write").inputs.stdin);
            assert.match(bare, /alias \/var\/www\/matrix-well-known\/example\.org\/support;/);
            const chat = String(byName(rs, "rp1-site-chat-example-org-write").inputs.stdin);
            assert.match(chat, /root \/var\/www\/element\/current;/);
            assert.match(chat, /location = \/admin\/config\.json \{\n\s+alias \/var\/www\/synapse-admin\/config\.json;/);
            assert.match(chat, /Content-Security-Policy "frame-ancestors 'self'"/);
        });

        it("reloads nginx after a config test, triggered by every file's hash", () => {
            const reload = byName(rs, "rp1-reload");
            const create = String(reload.inputs.create);
            assert.ok(create.indexOf("nginx -t") > 0 && create.indexOf("nginx -t") < create.indexOf("systemctl reload nginx"));
            assert.match(create, /openssl req -x509/, "placeholder certificate for the first start");
            const hashes = rs.filter((r) => r.name.endsWith("-write")).map((r) => (r.inputs.triggers as string[])[5]);
            assert.equal(hashes.length, 5);
            assert.deepEqual([...(reload.inputs.triggers as string[]).slice(1)].sort(), [...hashes].sort());
            // dependsOn on a component waits for its custom children: the writes and the apt install.
            for (const f of ["rp1-site-matrix-example-org-write", "rp1-site-00-default-write", "rp1-certbot-deploy-hook-write", "rp1-packages-install"]) {
                assert.ok(reload.dependencies.some((u) => u.endsWith(`::${f}`)), `reload waits for ${f}: ${reload.dependencies.join(", ")}`);
            }
        });

        it("runs certbot (webroot, every name, no secret) after the reload", () => {
            const acme = byName(rs, "rp1-acme");
            const create = String(acme.inputs.create);
            assert.match(create, /certbot certonly --non-interactive --agree-tos --email/);
            for (const n of ["chat.example.org", "example.org", "matrix.example.org"]) assert.ok(create.includes(`-d '\\''${n}'\\''`) || create.includes(`-d '${n}'`), n);
            assert.match(create, /certbot\.timer/);
            assert.ok(acme.dependencies.some((u) => u.endsWith("::rp1-reload")));
            assert.equal(acme.inputs.stdin, undefined);
            assert.deepEqual(acme.inputs.triggers, ["acme", "ops@example.org", "letsencrypt", "chat.example.org", "example.org", "matrix.example.org"]);
            assertNoLeak(rs, [TEST_SSH_KEY]);
        });

        it("exposes the served names", async () => {
            assert.deepEqual((await resolve(rp.serverNames)).value, ["chat.example.org", "example.org", "matrix.example.org"]);
            assert.equal((await resolve(rp.certificatePem)).value, undefined);
        });
    });

    describe("ReverseProxy with a provided certificate", () => {
        let rs: Registration[];
        before(async () => {
            new proxy.ReverseProxy("rp2", {
                host,
                homeserver: { domain: "matrix.example.net" },
                tls: "provided",
                certificatePem: PROVIDED_CERT,
                privateKeyPem: PROVIDED_KEY,
            });
            await settle();
            rs = under(e, "rp2");
        });

        it("writes the key only in a secret RemoteFile (stdin secret, logging off, 0600)", () => {
            const key = byName(rs, "rp2-tls-key-write");
            assert.ok(isSecretWrapper(key.wrappedInputs.stdin), "stdin secret-wrapped");
            assert.equal(key.inputs.stdin, PROVIDED_KEY);
            assert.equal(key.inputs.logging, "none");
            assert.deepEqual((key.inputs.triggers as string[]).slice(2, 5), ["/etc/nginx/tls/matrix-maas/privkey.pem", "root:root", "0600"]);
            assert.ok(!String(key.inputs.create).includes("provided-tls-private-key"));
            const cert = byName(rs, "rp2-tls-certificate-write");
            assert.equal(cert.inputs.stdin, PROVIDED_CERT);
            assert.equal(cert.inputs.logging, "stderr");
        });

        it("never leaks the key, runs no certbot, installs no certbot", () => {
            assertNoLeak(rs, [PROVIDED_KEY, TEST_SSH_KEY]);
            assert.equal(rs.some((r) => r.name === "rp2-acme"), false);
            assert.doesNotMatch(String(byName(rs, "rp2-packages-install").inputs.create), /certbot/);
            const reload = byName(rs, "rp2-reload");
            assert.doesNotMatch(String(reload.inputs.create), /openssl req/);
            assert.ok(reload.dependencies.some((u) => u.endsWith("::rp2-tls-key-write")), reload.dependencies.join(", "));
            const hs = String(byName(rs, "rp2-site-matrix-example-net-write").inputs.stdin);
            assert.doesNotMatch(hs, /acme-challenge/);
            assert.match(hs, /location \^~ \/_synapse\/admin \{\n\s+deny all;\n\s+\}/, "admin API closed without an allowlist");
            assert.match(hs, /server 127\.0\.0\.1:8008;/, "default listener port");
            assert.match(hs, /client_max_body_size 50M;/, "default upload size");
        });
    });

    describe("ReverseProxy self-signed (staging)", () => {
        let rs: Registration[];
        let rp: InstanceType<ProxyModule["ReverseProxy"]>;
        before(async () => {
            rp = new proxy.ReverseProxy("rp3", {
                host,
                homeserver: { domain: "matrix.staging.example" },
                element: { domain: "chat.staging.example" },
                adminUi: { domain: "admin.staging.example" },
                tls: "self-signed",
            });
            await settle();
            rs = under(e, "rp3");
        });

        it("creates a key and a certificate for every name; the key travels only as a secret", async () => {
            const key = byName(rs, "rp3-self-signed-key");
            assert.equal(key.inputs.algorithm, "ECDSA");
            const cert = byName(rs, "rp3-self-signed-cert");
            assert.deepEqual(cert.inputs.dnsNames, ["admin.staging.example", "chat.staging.example", "matrix.staging.example"]);
            assert.ok(isSecretWrapper(cert.wrappedInputs.privateKeyPem), "privateKeyPem input secret-wrapped");
            const keyFile = byName(rs, "rp3-tls-key-write");
            assert.ok(isSecretWrapper(keyFile.wrappedInputs.stdin));
            assert.equal(keyFile.inputs.logging, "none");
            const pem = [...e.secretValues.entries()].find(([, label]) => label === "rp3-self-signed-key-pem")![0];
            assert.equal(keyFile.inputs.stdin, pem);
            assertNoLeak(rs, [pem, TEST_SSH_KEY]);
            assert.equal(byName(rs, "rp3-tls-certificate-write").inputs.stdin, MOCK_SELF_SIGNED_PEM);
            assert.equal((await resolve(rp.certificatePem)).value, MOCK_SELF_SIGNED_PEM);
        });

        it("serves the admin UI on its own FQDN with its config override", () => {
            const a = String(byName(rs, "rp3-site-admin-staging-example-write").inputs.stdin);
            assert.match(a, /server_name admin\.staging\.example;/);
            assert.match(a, /location \/ \{\n\s+root \/var\/www\/synapse-admin\/current;/);
            assert.match(a, /location = \/config\.json \{\n\s+alias \/var\/www\/synapse-admin\/config\.json;/);
        });
    });

    it("refuses bad arguments with a ResourceError", () => {
        const hs = { domain: "matrix.example.com" };
        const cases: [() => unknown, RegExp][] = [
            [() => new proxy.ReverseProxy("bad1", { host, homeserver: hs }), /acmeEmail is required/],
            [() => new proxy.ReverseProxy("bad2", { host, homeserver: hs, tls: "provided", certificatePem: PROVIDED_CERT }), /privateKeyPem are required/],
            [() => new proxy.ReverseProxy("bad3", { host, homeserver: { domain: "Matrix.example.com" }, tls: "self-signed" }), /server name must be a lower-case DNS name/],
            [() => new proxy.ReverseProxy("bad4", { host, homeserver: hs, tls: "self-signed", adminAllowlist: ["10.0.0.0/40"] }), /adminAllowlist entry/],
            [() => new proxy.ReverseProxy("bad5", { host, homeserver: hs, element: { domain: "matrix.example.com" }, tls: "self-signed" }), /must not share a domain/],
            [() => new proxy.ReverseProxy("bad6", { host, homeserver: hs, adminUi: {}, tls: "self-signed" }), /adminUi needs its own domain/],
            [() => new proxy.ReverseProxy("bad7", { host, tls: "self-signed" }), /nothing to serve/],
            [() => new proxy.ReverseProxy("bad8", { host, homeserver: { ...hs, maxUploadSize: "50 MB" }, tls: "self-signed" }), /maxBodySize/],
        ];
        for (const [f, re] of cases) assert.throws(f, (err: Error) => err instanceof pulumi.ResourceError && re.test(err.message));
    });

    describe("WellKnownDelegation", () => {
        it("writes server and client (and support when contacts are set) to the proxy host, outputs the JSON", async () => {
            const d = new wk.WellKnownDelegation("wk1", {
                matrixDomain: "example.org",
                homeserverDomain: "matrix.example.org",
                host,
                identityServer: pulumi.output("https://vector.im"),
                clientExtras: { "io.element.e2ee": { default: false } },
                supportContacts: [{ role: "m.role.admin", matrixId: "@admin:example.org" }],
            });
            await settle();
            const rs = under(e, "wk1");
            assertParented(rs, "wk1", "matrix-maas:index:WellKnownDelegation");
            const files = rs.filter((r) => r.type === "matrix-maas:index:RemoteFile").map((r) => r.name).sort();
            assert.deepEqual(files, ["wk1-client", "wk1-server", "wk1-support"]);
            const server = byName(rs, "wk1-server-write");
            assert.equal((server.inputs.triggers as string[])[2], "/var/www/matrix-well-known/example.org/server");
            assert.deepEqual(JSON.parse(server.inputs.stdin), { "m.server": "matrix.example.org:443" });
            const client = JSON.parse(byName(rs, "wk1-client-write").inputs.stdin);
            assert.equal(client["m.identity_server"].base_url, "https://vector.im");
            assert.deepEqual(client["io.element.e2ee"], { default: false });
            assert.deepEqual(JSON.parse((await resolve(d.supportJson)).value!).contacts, [{ role: "m.role.admin", matrix_id: "@admin:example.org" }]);
            assert.equal((await resolve(d.hasSupport)).value, true);
            assert.equal((await resolve(d.documentRoot)).value, "/var/www/matrix-well-known/example.org");
        });

        it("publishes no support document when there is nothing to publish", async () => {
            const d = new wk.WellKnownDelegation("wk2", { matrixDomain: "example.net", homeserverDomain: "matrix.example.net", host });
            await settle();
            assert.deepEqual(under(e, "wk2").filter((r) => r.type === "matrix-maas:index:RemoteFile").map((r) => r.name).sort(), ["wk2-client", "wk2-server"]);
            assert.equal((await resolve(d.supportJson)).value, undefined);
            assert.equal((await resolve(d.hasSupport)).value, false);
        });

        it("only outputs the JSON when the bare domain is served elsewhere", async () => {
            const d = new wk.WellKnownDelegation("wk3", { matrixDomain: "example.com", homeserverDomain: "matrix.example.com", serveOnMatrixDomain: false, supportPage: "https://example.com/help" });
            await settle();
            assert.deepEqual(under(e, "wk3").map((r) => r.name), ["wk3"]);
            assert.deepEqual(JSON.parse((await resolve(d.clientJson)).value), { "m.homeserver": { base_url: "https://matrix.example.com" } });
            assert.deepEqual(JSON.parse((await resolve(d.supportJson)).value!), { support_page: "https://example.com/help" });
        });

        it("refuses bad arguments", () => {
            assert.throws(() => new wk.WellKnownDelegation("wk4", { matrixDomain: "example.org", homeserverDomain: "matrix.example.org" }), /host is required/);
            assert.throws(
                () => new wk.WellKnownDelegation("wk5", { matrixDomain: "example.org", homeserverDomain: "matrix.example.org", host, supportContacts: [{ role: "m.role.admin" }] }),
                /needs matrixId or emailAddress/,
            );
            assert.throws(() => new wk.WellKnownDelegation("wk6", { matrixDomain: "Example.org", homeserverDomain: "matrix.example.org", host }), /matrixDomain/);
        });
    });

    describe("AdminUi", () => {
        const sha = "a".repeat(64);
        it("fetches the pinned tarball with a sha256 check and writes config.json restricted to the homeserver", async () => {
            const ui = new admin.AdminUi("ui1", {
                host,
                homeserverUrl: pulumi.output("https://matrix.example.org/"),
                version: "v0.11.1",
                tarballUrl: "https://github.com/etkecc/synapse-admin/releases/download/v0.11.1/synapse-admin.tar.gz",
                sha256: sha,
            });
            await settle();
            const rs = under(e, "ui1");
            assertParented(rs, "ui1", "matrix-maas:index:AdminUi");
            const release = byName(rs, "ui1-release");
            const create = String(release.inputs.create);
            assert.match(create, /sha256sum/);
            assert.ok(create.includes(sha));
            assert.match(create, /--proto =https/);
            assert.match(create, /--strip-components=1/);
            assert.deepEqual(release.inputs.triggers, ["release", "https://github.com/etkecc/synapse-admin/releases/download/v0.11.1/synapse-admin.tar.gz", sha, "/var/www/synapse-admin", "1"]);
            const cfg = byName(rs, "ui1-config-write");
            assert.deepEqual(JSON.parse(cfg.inputs.stdin), { restrictBaseUrl: "https://matrix.example.org" });
            assert.equal((cfg.inputs.triggers as string[])[2], "/var/www/synapse-admin/config.json");
            const cfgComponent = byName(rs, "ui1-config");
            assert.ok(cfgComponent.dependencies.some((u) => u.endsWith("::ui1-release")), `config after the release: ${cfgComponent.dependencies.join(", ")}`);
            assert.equal((await resolve(ui.root)).value, "/var/www/synapse-admin/current");
            assert.equal((await resolve(ui.configPath)).value, "/var/www/synapse-admin/config.json");
            assertNoLeak(rs, [TEST_SSH_KEY]);
        });

        it("refuses an unpinned or insecure release", () => {
            const base = { host, homeserverUrl: "https://matrix.example.org", version: "v1.0.0", tarballUrl: "https://example.org/a.tar.gz", sha256: sha };
            assert.throws(() => new admin.AdminUi("ui2", { ...base, sha256: "abc" }), /sha256 must be 64/);
            assert.throws(() => new admin.AdminUi("ui3", { ...base, tarballUrl: "http://example.org/a.tar.gz" }), /https/);
        });
    });
});
