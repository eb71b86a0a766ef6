import { strict as assert } from "node:assert";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import YAML from "yaml";
import { parseStackConfig } from "../../components/config";
import {
    renderSigningKey,
    renderSynapseConfig,
    resolveSynapseSettings,
    RESERVED_IP_RANGES,
    signingKeyPublicBase64,
    SYNAPSE_FRAGMENTS,
    synapseFileManifest,
    SynapseSecrets,
} from "../../components/render";

const SECRETS: SynapseSecrets = {
    registrationSharedSecret: "rss-7f3c2a9e1b",
    macaroonSecretKey: "mac-4d8e0f1a2b",
    formSecret: "form-9a8b7c6d5e",
    passwordPepper: "pepper-1q2w3e4r",
    databasePassword: "dbpw-5t6y7u8i9o",
    smtpPassword: "smtp-0p9o8i7u6y",
    turnSharedSecret: "turn-2w3e4r5t6y",
};

function settings(synapse: Record<string, unknown> = {}, email: Record<string, unknown> = {}) {
    const c = parseStackConfig({
        matrixDomain: "example.org",
        homeserverDomain: "matrix.example.org",
        elementDomain: "chat.example.org",
        hosts: { main: { address: "2001:db8::1" } },
        proxy: { acmeEmail: "h@example.org" },
        element: { version: "v1.11.34", sha256: "627e02f34469707100da7df60aaa15599a7e99513ad115ef161dff2ea11db35c" },
        synapse,
        email,
    }, ["sshPrivateKey", "postgresAdminPassword", "smtpPassword"]);
    return resolveSynapseSettings({
        serverName: c.matrixDomain,
        homeserverDomain: c.homeserverDomain,
        synapse: c.synapse,
        database: c.database,
        email: c.email,
        turn: { uris: ["turn:matrix.example.org:3478?transport=udp"], userLifetime: "1h", allowGuests: true },
    });
}

const parsed = (files: ReturnType<typeof renderSynapseConfig>) => new Map(files.map((f) => [f.path, YAML.parse(f.content) ?? {}]));

describe("renderSynapseConfig", () => {
    const s = settings({}, { enabled: true, smtpHost: "smtp.example.org", smtpUser: "m", notifFrom: "Chat <n@example.org>" });
    const files = renderSynapseConfig(s, SECRETS);
    const docs = parsed(files);

    it("renders homeserver.yaml, log.yaml and one conf.d fragment per concern, matching the static manifest", () => {
        const names = files.filter((f) => f.path.includes("/conf.d/")).map((f) => f.path.replace(/.*conf\.d\/|\.yaml$/g, ""));
        assert.deepEqual(names.sort(), Object.keys(SYNAPSE_FRAGMENTS).sort());
        const manifest = synapseFileManifest(s);
        assert.deepEqual(files.map(({ content: _c, ...rest }) => rest), manifest);
        for (const concern of ["server_name", "database", "keys", "logging", "email", "mediastore", "homeserver_blocking", "authentication", "registration", "turn"]) {
            assert.ok(SYNAPSE_FRAGMENTS[concern] !== undefined, concern);
        }
    });

    it("puts every top-level key in exactly one file", () => {
        const owners = new Map<string, string[]>();
        for (const [p, doc] of docs) {
            if (p.endsWith("log.yaml") || p.endsWith("homeserver.yaml")) continue;
            for (const k of Object.keys(doc)) owners.set(k, [...(owners.get(k) ?? []), p]);
        }
        for (const [k, ps] of owners) assert.equal(ps.length, 1, `${k} in ${ps.join(", ")}`);
        assert.ok(owners.size > 30, `${owners.size} keys`);
    });

    it("keeps secret values only in files marked secret (0640), never elsewhere", () => {
        for (const f of files) {
            for (const [name, value] of Object.entries(SECRETS)) {
                if (!f.secret) assert.ok(!f.content.includes(value!), `${name} leaked into ${f.path}`);
            }
            assert.equal(f.mode, f.secret ? "0640" : "0644", f.path);
            assert.equal(f.owner, "root");
            assert.equal(f.group, "matrix-synapse");
        }
        const where = (value: string) => files.filter((f) => f.content.includes(value)).map((f) => f.path.split("/").pop());
        assert.deepEqual(where(SECRETS.databasePassword), ["database.yaml"]);
        assert.deepEqual(where(SECRETS.passwordPepper), ["authentication.yaml"]);
        assert.deepEqual(where(SECRETS.registrationSharedSecret), ["keys.yaml"]);
        assert.deepEqual(where(SECRETS.smtpPassword!), ["email.yaml"]);
        assert.deepEqual(where(SECRETS.turnSharedSecret!), ["turn.yaml"]);
    });

    it("renders the Debian guide's settings with secure defaults", () => {
        const get = (name: string) => docs.get(`/etc/matrix-synapse/conf.d/${name}.yaml`)!;
        assert.equal(get("server_name").server_name, "example.org");
        assert.equal(get("server_name").public_baseurl, "https://matrix.example.org/");
        const [listener] = get("listeners").listeners;
        assert.deepEqual(listener.bind_addresses, ["::1", "127.0.0.1"]);
        assert.equal(listener.x_forwarded, true);
        assert.deepEqual(listener.resources[0].names, ["client", "federation"]);
        assert.equal(get("database").database.name, "psycopg2");
        assert.equal(get("database").database.args.cp_min, 5);
        assert.equal(get("database").database.allow_unsafe_locale, undefined, "never allow_unsafe_locale");
        assert.equal(get("keys").signing_key_path, "/etc/matrix-synapse/example.org.signing.key");
        assert.equal(get("registration").enable_registration, false);
        assert.equal(get("registration").allow_guest_access, false);
        assert.equal(get("mediastore").max_upload_size, "50M");
        assert.equal(get("mediastore").enable_authenticated_media, true);
        assert.equal(get("authentication").password_config.policy.minimum_length, 12);
        assert.equal(get("email").email.smtp_host, "smtp.example.org");
        assert.equal(get("email").email.require_transport_security, true);
        assert.deepEqual(get("turn").turn_uris, ["turn:matrix.example.org:3478?transport=udp"]);
        assert.equal(get("turn").turn_shared_secret, SECRETS.turnSharedSecret);
        const log = docs.get("/etc/matrix-synapse/log.yaml")!;
        assert.equal(log.handlers.file.filename, "/var/log/matrix-synapse/homeserver.log");
        assert.deepEqual(log.root.handlers, ["file", "journal"]);
    });

    it("blacklists private and reserved ranges for URL previews and outbound requests", () => {
        const media = docs.get("/etc/matrix-synapse/conf.d/mediastore.yaml")!;
        const server = docs.get("/etc/matrix-synapse/conf.d/server.yaml")!;
        for (const r of ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "::1/128", "fe80::/10", "fc00::/7", "::ffff:0:0/96"]) {
            assert.ok(media.url_preview_ip_range_blacklist.includes(r), `preview ${r}`);
            assert.ok(server.ip_range_blacklist.includes(r), `outbound ${r}`);
        }
        assert.equal(RESERVED_IP_RANGES.length, new Set(RESERVED_IP_RANGES).size);
    });

    it("turns federation off with an empty whitelist and keeps a given whitelist", () => {
        const off = parsed(renderSynapseConfig(settings({ federation: { enabled: false } }), SECRETS)).get("/etc/matrix-synapse/conf.d/federation.yaml")!;
        assert.deepEqual(off.federation_domain_whitelist, []);
        const wl = parsed(renderSynapseConfig(settings({ federation: { domainWhitelist: ["example.com"] } }), SECRETS)).get("/etc/matrix-synapse/conf.d/federation.yaml")!;
        assert.deepEqual(wl.federation_domain_whitelist, ["example.com"]);
        const open = parsed(renderSynapseConfig(settings(), SECRETS)).get("/etc/matrix-synapse/conf.d/federation.yaml")!;
        assert.equal("federation_domain_whitelist" in open, false, "no whitelist: open federation");
    });

    it("deep-merges extraSettings into the owning fragment; unknown keys land in zz-extra.yaml", () => {
        const d = parsed(renderSynapseConfig(settings({ extraSettings: { password_config: { policy: { minimum_length: 20 } }, max_event_delay_duration: "24h" } }), SECRETS));
        const auth = d.get("/etc/matrix-synapse/conf.d/authentication.yaml")!;
        assert.equal(auth.password_config.policy.minimum_length, 20);
        assert.equal(auth.password_config.policy.require_digit, true, "siblings kept");
        assert.equal(auth.password_config.pepper, SECRETS.passwordPepper, "pepper kept");
        assert.deepEqual(d.get("/etc/matrix-synapse/conf.d/zz-extra.yaml"), { max_event_delay_duration: "24h" });
    });

    it("renders retention, limits and token registration when configured", () => {
        const d = parsed(
            renderSynapseConfig(
                settings({
                    retention: { enabled: true, defaultMaxLifetime: "180d", forgottenRoomRetentionPeriod: "28d" },
                    federation: { limitRemoteRoomsComplexity: 1.5 },
                    registration: { policy: "token", autoJoinRooms: ["#lobby:example.org"] },
                    media: { remoteMediaLifetime: "90d" },
                }),
                SECRETS,
            ),
        );
        assert.equal(d.get("/etc/matrix-synapse/conf.d/retention.yaml")!.retention.default_policy.max_lifetime, "180d");
        assert.equal(d.get("/etc/matrix-synapse/conf.d/homeserver_blocking.yaml")!.forgotten_room_retention_period, "28d");
        assert.deepEqual(d.get("/etc/matrix-synapse/conf.d/federation.yaml")!.limit_remote_rooms, { enabled: true, complexity: 1.5, admins_can_join: true });
        const reg = d.get("/etc/matrix-synapse/conf.d/registration.yaml")!;
        assert.equal(reg.registration_requires_token, true);
        assert.equal(reg.enable_registration_without_verification, false);
        assert.deepEqual(reg.auto_join_rooms, ["#lobby:example.org"]);
        assert.equal(d.get("/etc/matrix-synapse/conf.d/mediastore.yaml")!.media_retention.remote_media_lifetime, "90d");
    });

    it("is deterministic: the same input renders the same bytes", () => {
        const again = renderSynapseConfig(settings({}, { enabled: true, smtpHost: "smtp.example.org", smtpUser: "m", notifFrom: "Chat <n@example.org>" }), SECRETS);
        assert.deepEqual(again, files);
    });
});

describe("renderSigningKey", () => {
    it("writes `ed25519 <id> <unpadded base64 seed>` that round-trips to the same public key", () => {
        const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const line = renderSigningKey(pem, "a_Xy12");
        assert.match(line, /^ed25519 a_Xy12 [A-Za-z0-9+/]{43}\n$/);
        const seed = Buffer.from(line.trim().split(" ")[2], "base64");
        assert.equal(seed.length, 32);
        const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
        const again = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
        const pub = createPublicKey(again).export({ format: "der", type: "spki" });
        assert.equal(pub.subarray(pub.length - 32).toString("base64").replace(/=+$/, ""), signingKeyPublicBase64(pem));
    });

    it("refuses a malformed key id or a non-ed25519 key", () => {
        const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        assert.throws(() => renderSigningKey(pem, "a_toolong"), /a_AbC1/);
        const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        assert.throws(() => renderSigningKey(rsa, "a_abcd"), /must be ed25519/);
    });
});

describe("venv install method", () => {
    const { renderSynapseUnit, renderSynapseVenvInstallScript, synapseCommand } = require("../../components/render");
    it("renders a notify unit running the config paths Synapse needs, with a hardened runtime", () => {
        const s = settings();
        const unit = renderSynapseUnit(s);
        assert.equal(unit.path, "/etc/systemd/system/matrix-synapse.service");
        const lines: string[] = unit.content.split("\n");
        assert.ok(lines.includes(`ExecStart=${synapseCommand("/opt/venvs/matrix-synapse", s).join(" ")}`));
        for (const l of ["Type=notify", "User=matrix-synapse", "NoNewPrivileges=true", "CapabilityBoundingSet=", "ProtectSystem=strict", "PrivateTmp=true"]) assert.ok(lines.includes(l), l);
        assert.ok(lines.includes("ReadWritePaths=/var/lib/matrix-synapse /var/lib/matrix-synapse/media /var/log/matrix-synapse"));
    });
    it("renders an idempotent install script pinned to one version", () => {
        const script: string = renderSynapseVenvInstallScript({ version: "1.163.2", user: "matrix-synapse", group: "matrix-synapse", dirs: ["/var/lib/matrix-synapse"], configDir: "/etc/matrix-synapse" });
        assert.match(script, /already installed/);
        assert.match(script, /'matrix-synapse\[postgres,oidc\]==1\.163\.2'/);
        assert.throws(() => renderSynapseVenvInstallScript({ version: "latest", user: "u", group: "g", dirs: [], configDir: "/etc/x" }), /1\.163\.2/);
    });
});

describe("venv unit checked by systemd-analyze", () => {
    it("has no error but the (absent here) venv binary", function () {
        const { spawnSync } = require("node:child_process");
        const fs = require("node:fs");
        const os = require("node:os");
        const path = require("node:path");
        if (spawnSync("systemd-analyze", ["--version"]).status !== 0) {
            console.log("    SKIP: systemd-analyze not installed");
            return this.skip();
        }
        const { renderSynapseUnit } = require("../../components/render");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "unit-"));
        const file = path.join(dir, "matrix-synapse.service");
        fs.writeFileSync(file, renderSynapseUnit(settings()).content);
        const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
        const problems = (r.stdout + r.stderr).split("\n").filter((l: string) => l.trim() && !/\/opt\/venvs\/matrix-synapse\/bin\/python is not executable/.test(l));
        fs.rmSync(dir, { recursive: true, force: true });
        assert.deepEqual(problems, []);
    });
});
