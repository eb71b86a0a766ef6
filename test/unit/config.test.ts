import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError, loadStackConfig, parseStackConfig, SECRET_KEYS, stackConfigSchema } from "../../components/config";
import { flattenStackConfig } from "../../scripts/lib/mock-engine";

const ROOT = path.resolve(__dirname, "../..");
const base = () => ({
    matrixDomain: "example.org",
    homeserverDomain: "matrix.example.org",
    elementDomain: "chat.example.org",
    hosts: { main: { address: "2001:db8::10" } },
    proxy: { acmeEmail: "hostmaster@example.org" },
    element: { version: "v1.11.34", sha256: "627e02f34469707100da7df60aaa15599a7e99513ad115ef161dff2ea11db35c" },
});

function rejects(values: Record<string, unknown>, key: string, valid: RegExp, secrets?: ("sshPrivateKey" | "postgresAdminPassword" | "smtpPassword")[]): void {
    let err: unknown;
    try {
        parseStackConfig(values, secrets);
    } catch (e) {
        err = e;
    }
    assert.ok(err instanceof ConfigError, `expected a ConfigError for ${key}`);
    const line = err.problems.find((p) => p.startsWith(`matrix-maas:${key} `));
    assert.ok(line, `no problem names matrix-maas:${key}; got:\n${err.problems.join("\n")}`);
    assert.match(line, valid, `message for ${key} says what is valid`);
}

describe("stack config schema", () => {
    it("accepts the minimal config and fills secure defaults", () => {
        const c = parseStackConfig(base());
        assert.equal(c.synapse.registration.policy, "closed", "registration closed by default");
        assert.equal(c.synapse.registration.allowGuests, false);
        assert.equal(c.synapse.media.maxUploadSize, "50M");
        assert.equal(c.hosts.main.port, 22);
        assert.equal(c.release.database, false);
        assert.equal(c.database.cpMin <= c.database.cpMax, true);
    });

    // [description, mutate, key named, what the message must say]
    const bad: [string, (c: any) => void, string, RegExp][] = [
        ["web client FQDN equal to the homeserver FQDN", (c) => (c.elementDomain = c.homeserverDomain), "elementDomain", /must differ from homeserverDomain/],
        ["malformed Matrix domain", (c) => (c.matrixDomain = "exa mple.org"), "matrixDomain", /lower-case DNS name/],
        ["upper-case domain", (c) => (c.homeserverDomain = "Matrix.Example.org"), "homeserverDomain", /lower-case DNS name/],
        ["single-label domain", (c) => (c.elementDomain = "localhost"), "elementDomain", /at least two labels/],
        ["missing Matrix domain", (c) => delete c.matrixDomain, "matrixDomain", /required/],
        ["max upload with a space and MB", (c) => (c.synapse = { media: { maxUploadSize: "50 MB" } }), "synapse.media.maxUploadSize", /50M/],
        ["negative max upload", (c) => (c.synapse = { media: { maxUploadSize: -5 } }), "synapse.media.maxUploadSize", /size such as 50M/],
        ["cp_min > cp_max", (c) => (c.database = { cpMin: 20, cpMax: 10 }), "database.cpMin", /must not exceed database.cpMax/],
        ["email enabled without SMTP host", (c) => (c.email = { enabled: true, notifFrom: "x <a@example.org>" }), "email.smtpHost", /required when email.enabled/],
        ["email enabled without notif_from", (c) => (c.email = { enabled: true, smtpHost: "smtp.example.org" }), "email.notifFrom", /required when email.enabled/],
        ["implicit TLS on the STARTTLS port", (c) => (c.email = { forceTls: true }), "email.smtpPort", /use 465/],
        ["host address not an IP", (c) => (c.hosts.main.address = "server.example.org"), "hosts.main.address", /IPv6 or IPv4 address/],
        ["SSH port out of range", (c) => (c.hosts.main.port = 70000), "hosts.main.port", /between 1 and 65535/],
        ["synapse host not among hosts", (c) => (c.synapse = { host: "db" }), "synapse.host", /must name one of hosts \(main\)/],
        ["no hosts", (c) => (c.hosts = {}), "hosts", /at least one host/],
        ["bad host name", (c) => (c.hosts = { Main_1: { address: "::1" } }), "hosts.Main_1", /lower-case/],
        ["unknown top-level key", (c) => (c.matrixDomian = "x"), "matrixDomian", /not a known setting/],
        ["unknown nested key", (c) => (c.synapse = { media: { maxUploadSizes: "1M" } }), "synapse.media.maxUploadSizes", /not a known setting/],
        ["open registration without verification", (c) => (c.synapse = { registration: { policy: "open" } }), "synapse.registration.policy", /invites spam.*acknowledgeOpenRegistrationWithoutVerification/],
        ["an unknown registration policy", (c) => (c.synapse = { registration: { policy: "invite-only" } }), "synapse.registration.policy", /closed.*token/],
        ["email-pattern registration without email", (c) => (c.synapse = { registration: { policy: "email-pattern", allowedEmailPatterns: ["@x\\.org$"] } }), "synapse.registration.policy", /email.enabled/],
        ["email-pattern without patterns", (c) => ((c.email = { enabled: true, smtpHost: "smtp.example.org", notifFrom: "a <a@example.org>" }), (c.synapse = { registration: { policy: "email-pattern" } })), "synapse.registration.allowedEmailPatterns", /at least one pattern/],
        ["email pattern not a regex", (c) => (c.synapse = { registration: { allowedEmailPatterns: ["(unclosed"] } }), "synapse.registration.allowedEmailPatterns[0]", /regular expression/],
        ["ldap policy without ldap settings", (c) => (c.synapse = { registration: { policy: "ldap" } }), "synapse.registration.ldap", /uris, base/],
        ["ldap URI malformed", (c) => (c.synapse = { registration: { policy: "ldap", ldap: { uris: ["ldap.example.org"], base: "dc=x" } } }), "synapse.registration.ldap.uris[0]", /ldaps:\/\//],
        ["oidc policy without a provider", (c) => (c.synapse = { registration: { policy: "oidc" } }), "synapse.registration.oidc", /issuer, clientId/],
        ["consent without server notices", (c) => (c.synapse = { consent: { enabled: true } }), "synapse.consent.enabled", /serverNotices.enabled/],
        ["auto-join room that is no alias", (c) => (c.synapse = { registration: { autoJoinRooms: ["lobby"] } }), "synapse.registration.autoJoinRooms[0]", /#lobby:example.org/],
        ["retention lifetime without retention", (c) => (c.synapse = { retention: { defaultMaxLifetime: "30d" } }), "synapse.retention.enabled", /must be true/],
        ["duration without unit", (c) => (c.synapse = { retention: { enabled: true, defaultMaxLifetime: "30" } }), "synapse.retention.defaultMaxLifetime", /30d/],
        ["whitelist with federation off", (c) => (c.synapse = { federation: { enabled: false, domainWhitelist: ["example.com"] } }), "synapse.federation.domainWhitelist", /federation.enabled is false/],
        ["whitelist entry not a domain", (c) => (c.synapse = { federation: { domainWhitelist: ["not a domain"] } }), "synapse.federation.domainWhitelist[0]", /DNS name/],
        ["extraSettings overriding server_name", (c) => (c.synapse = { extraSettings: { server_name: "evil.example" } }), "synapse.extraSettings.server_name", /managed by matrix-maas/],
        ["extraSettings overriding the database", (c) => (c.synapse = { extraSettings: { database: {} } }), "synapse.extraSettings.database", /cannot be overridden/],
        ["password minimum below 8", (c) => (c.synapse = { password: { minimumLength: 4 } }), "synapse.password.minimumLength", /at least 8/],
        ["database name not an identifier", (c) => (c.database = { name: "synapse-db" }), "database.name", /Postgres identifier/],
        ["database host garbage", (c) => (c.database = { host: "not a host!" }), "database.host", /socket directory/],
        ["sslmode unknown", (c) => (c.database = { sslmode: "prefer-ish" }), "database.sslmode", /require/],
        ["admin contact not mailto or https", (c) => (c.synapse = { blocking: { adminContact: "admin@example.org" } }), "synapse.blocking.adminContact", /mailto:/],
        ["avatar MIME type malformed", (c) => (c.synapse = { blocking: { allowedAvatarMimetypes: ["png"] } }), "synapse.blocking.allowedAvatarMimetypes[0]", /image\/png/],
        ["listener port zero", (c) => (c.synapse = { listenerPort: 0 }), "synapse.listenerPort", /Too small|>=1/],
        ["admin localpart with upper case", (c) => (c.adminLocalpart = "Admin"), "adminLocalpart", /localpart/],
        ["TURN host without an address", (c) => ((c.hosts.turn = { port: 22 }), (c.turn = { host: "turn" })), "hosts.turn.address", /required/],
        ["TURN host not among hosts", (c) => (c.turn = { host: "relay" }), "turn.host", /must name one of hosts/],
        ["TURN relay range inverted", (c) => (c.turn = { relayPortMin: 60000, relayPortMax: 50000 }), "turn.relayPortMin", /must not exceed turn.relayPortMax/],
        ["TURN listening port inside the relay range", (c) => (c.turn = { port: 50000 }), "turn.port", /outside the relay port range/],
        ["SRV port out of range", (c) => (c.dns = { srvPort: 70000 }), "dns.srvPort", /between 1 and 65535/],
        ["DNS without a zone", (c) => (c.dns = { enabled: true }), "dns.zoneId", /zoneName is required/],
        ["Element release without checksum", (c) => delete c.element.sha256, "element.sha256", /sha256 of the release tarball/],
        ["Element checksum malformed", (c) => (c.element.sha256 = "abc"), "element.sha256", /64 lower-case hex/],
        ["Element release without version", (c) => delete c.element.version, "element.version", /v1\.11/],
        ["ACME without an account email", (c) => (c.proxy = {}), "proxy.acmeEmail", /required with proxy.tls: acme/],
        ["provided TLS without a certificate", (c) => (c.proxy = { tls: "provided" }), "proxy.certificatePem", /required with proxy.tls: provided/],
        ["admin allowlist entry not a CIDR", (c) => (c.proxy.adminAllowlist = ["10.0.0.0/33"]), "proxy.adminAllowlist[0]", /CIDR/],
        ["admin UI enabled without a pinned release", (c) => (c.adminUi = { enabled: true }), "adminUi.sha256", /required when adminUi.enabled/],
        ["admin UI on the homeserver FQDN", (c) => (c.adminUi = { enabled: true, domain: "matrix.example.org", version: "v0.10.0", tarballUrl: "https://x.example/a.tgz", sha256: "a".repeat(64) }), "adminUi.domain", /its own FQDN/],
        ["support contact without an address", (c) => (c.wellKnown = { supportContacts: [{ role: "m.role.admin" }] }), "wellKnown.supportContacts[0]", /matrixId or emailAddress/],
        ["boolean given as a string", (c) => (c.synapse = { presence: "yes" }), "synapse.presence", /boolean/],
    ];
    for (const [what, mutate, key, valid] of bad) {
        it(`rejects ${what} naming matrix-maas:${key}`, () => {
            const c: any = base();
            mutate(c);
            rejects(c, key, valid);
        });
    }
    it(`has at least 20 bad-input cases (${bad.length})`, () => assert.ok(bad.length >= 20));

    it("requires the secret keys and names them", () => {
        rejects(base(), "sshPrivateKey", /pulumi config set --secret sshPrivateKey/, []);
        rejects(base(), "postgresAdminPassword", /--secret postgresAdminPassword/, ["sshPrivateKey"]);
        rejects({ ...base(), email: { smtpUser: "u" } }, "smtpPassword", /--secret smtpPassword/, ["sshPrivateKey", "postgresAdminPassword"]);
        rejects({ ...base(), synapse: { registration: { policy: "ldap", ldap: { uris: ["ldap://[::1]:389"], base: "dc=x", bindDn: "cn=admin,dc=x" } } } }, "ldapBindPassword", /--secret ldapBindPassword/, ["sshPrivateKey", "postgresAdminPassword"]);
        rejects({ ...base(), synapse: { registration: { policy: "oidc", oidc: { issuer: "https://id.example.org/", clientId: "synapse" } } } }, "oidcClientSecret", /--secret oidcClientSecret/, ["sshPrivateKey", "postgresAdminPassword"]);
        rejects({ ...base(), synapse: { registration: { policy: "open", captchaPublicKey: "site-key" } } }, "recaptchaPrivateKey", /--secret recaptchaPrivateKey/, ["sshPrivateKey", "postgresAdminPassword"]);
    });

    it("reads raw Pulumi config (JSON objects as strings, other namespaces ignored)", () => {
        const { config, secretKeysSet } = loadStackConfig({
            "matrix-maas:matrixDomain": "example.org",
            "matrix-maas:homeserverDomain": "matrix.example.org",
            "matrix-maas:elementDomain": "chat.example.org",
            "matrix-maas:hosts": JSON.stringify({ main: { address: "::1", port: 2222 } }),
            "matrix-maas:proxy": JSON.stringify(base().proxy),
            "matrix-maas:element": JSON.stringify(base().element),
            "matrix-maas:sshPrivateKey": "k",
            "matrix-maas:postgresAdminPassword": "p",
            "cloudflare:apiToken": "ignored",
        });
        assert.equal(config.hosts.main.port, 2222);
        assert.deepEqual(secretKeysSet.sort(), ["postgresAdminPassword", "sshPrivateKey"]);
    });

    it("accepts every committed stack file", () => {
        const stacks = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[a-z0-9-]+\.yaml$/.test(f));
        assert.ok(stacks.length >= 3, "staging, prod and at least one customer");
        for (const f of stacks) {
            const doc = YAML.parse(fs.readFileSync(path.join(ROOT, f), "utf8"));
            const { raw } = flattenStackConfig(doc.config);
            raw["matrix-maas:sshPrivateKey"] = "x";
            raw["matrix-maas:postgresAdminPassword"] = "x";
            raw["matrix-maas:smtpPassword"] = "x";
            const { config } = loadStackConfig(raw);
            assert.notEqual(config.homeserverDomain, config.elementDomain, f);
        }
    });

    it("declares exactly the schema's keys in Pulumi.yaml, secrets as secret", () => {
        const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        const declared = Object.keys(project.config).sort();
        const expected = [...Object.keys(stackConfigSchema.shape), ...Object.keys(SECRET_KEYS)].sort();
        assert.deepEqual(declared, expected);
        for (const k of Object.keys(SECRET_KEYS)) assert.equal(project.config[k].secret, true, k);
        for (const k of declared) assert.ok(String(project.config[k].description ?? "").length > 10, `${k} described`);
    });
});

describe("README config reference", () => {
    it("is the table generated from the schema (run npm run docs:config after a schema change)", () => {
        const { updateReadme } = require("../../scripts/config-docs");
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.equal(updateReadme(readme), readme);
        // Every leaf key of the schema appears.
        for (const key of ["synapse.media.maxUploadSize", "database.cpMax", "email.smtpHost", "release.signingKey", "hosts.<name>.address", "sshPrivateKey"]) {
            assert.ok(readme.includes(`| \`${key}\` |`), key);
        }
    });
});
