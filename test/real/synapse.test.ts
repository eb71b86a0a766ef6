/**
 * Real Synapse (PyPI) on Debian's PostgreSQL, started from the files the Homeserver component
 * renders — same render functions, only paths and ports moved into a temp dir.
 */
import { strict as assert } from "node:assert";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../components/config";
import { renderSigningKey, resolveSynapseSettings, signingKeyPublicBase64, SynapseSecrets, SynapseSettings, synapseKeysFile } from "../../components/render";
import {
    createSynapseDatabase,
    freePort,
    isRoot,
    MatrixClient,
    missingTools,
    Postgres,
    registerWithSharedSecret,
    SERVICE_USER,
    serviceTempDir,
    startPostgres,
    startSynapse,
    SynapseProcess,
} from "./harness";

const secret = () => randomBytes(24).toString("base64url");

/** Settings exactly as the component resolves them, with only paths, ports and the user moved. */
export function testSynapseSettings(dir: string, port: number, pg: Postgres, extra: Record<string, unknown> = {}): SynapseSettings {
    const config = parseStackConfig({
        matrixDomain: "example.test",
        homeserverDomain: "matrix.example.test",
        elementDomain: "chat.example.test",
        hosts: { main: { address: "::1" } },
        proxy: { acmeEmail: "hostmaster@example.test" },
        element: { version: "v1.11.34", sha256: "627e02f34469707100da7df60aaa15599a7e99513ad115ef161dff2ea11db35c" },
        synapse: { listenerPort: port, extraSettings: extra },
        database: { host: pg.host, port: pg.port },
    });
    const layout = {
        configDir: path.join(dir, "etc"),
        dataDir: path.join(dir, "data"),
        logDir: path.join(dir, "log"),
        user: SERVICE_USER,
        group: isRoot() ? "nogroup" : SERVICE_USER,
    };
    const s = resolveSynapseSettings({
        serverName: config.matrixDomain,
        homeserverDomain: config.homeserverDomain,
        synapse: config.synapse,
        database: config.database,
        email: config.email,
        layout,
        bindAddresses: ["127.0.0.1"],
    });
    return { ...s, media: { ...s.media, storePath: path.join(dir, "media") } };
}

describe("real Synapse on real PostgreSQL, from the rendered config", function () {
    this.timeout(600_000);
    let dir: string;
    let pg: Postgres | undefined;
    let synapse: SynapseProcess | undefined;
    let settings: SynapseSettings;
    let secrets: SynapseSecrets;
    let keyId: string;
    let pem: string;
    const adminPassword = `Adm1n-${secret()}`;

    before(async function () {
        const missing = missingTools();
        if (missing) {
            console.log(`    SKIP real Synapse tests: ${missing}`);
            this.skip();
        }
        dir = serviceTempDir("synapse-real-");
        pg = await startPostgres(dir);
        secrets = {
            registrationSharedSecret: secret(),
            macaroonSecretKey: secret(),
            formSecret: secret(),
            passwordPepper: secret(),
            databasePassword: secret(),
        };
        createSynapseDatabase(pg, { name: "synapse", user: "synapse_user", password: secrets.databasePassword });
        settings = testSynapseSettings(dir, await freePort(), pg, { presence: { enabled: false } });
        pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        keyId = "a_" + randomBytes(8).toString("hex").replace(/[^a-z0-9]/gi, "").slice(0, 4);
        synapse = await startSynapse({ settings, secrets, signingKey: renderSigningKey(pem, keyId) });
    });

    after(async () => {
        await synapse?.stop();
        pg?.stop();
        if (dir && !process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("creates the database UTF8 with C collation in a cluster whose default is not C", () => {
        assert.equal(pg!.psql("SELECT datcollate FROM pg_database WHERE datname = 'template1'"), "C.UTF-8");
        assert.equal(pg!.psql("SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = 'synapse'"), "UTF8 C C");
    });

    it("Synapse accepted the config and created its schema (> 50 tables)", () => {
        const tables = Number(pg!.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", "synapse"));
        assert.ok(tables > 50, `only ${tables} tables`);
    });

    it("answers /_matrix/client/versions", async () => {
        const r = await new MatrixClient(synapse!.baseUrl).request("GET", "/_matrix/client/versions", undefined, false);
        assert.equal(r.status, 200);
        assert.ok(Array.isArray(r.json.versions) && r.json.versions.includes("v1.1"));
    });

    it("publishes the signing key the component computed at /_matrix/key/v2/server", async () => {
        const r = await new MatrixClient(synapse!.baseUrl).request("GET", "/_matrix/key/v2/server", undefined, false);
        assert.equal(r.status, 200);
        assert.equal(r.json.server_name, "example.test");
        assert.deepEqual(Object.keys(r.json.verify_keys), [`ed25519:${keyId}`]);
        assert.equal(r.json.verify_keys[`ed25519:${keyId}`].key, signingKeyPublicBase64(pem));
    });

    it("keeps registration closed: Synapse itself refuses", async () => {
        const r = await new MatrixClient(synapse!.baseUrl).request("POST", "/_matrix/client/v3/register", { username: "mallory", password: "Sup3r-secret-pass", auth: { type: "m.login.dummy" } }, false);
        assert.equal(r.status, 403);
        assert.equal(r.json.errcode, "M_FORBIDDEN");
    });

    it("registers the admin with the shared secret exactly as the component does (and again with --exists-ok)", async () => {
        const first = registerWithSharedSecret({ keysFile: synapseKeysFile(settings), baseUrl: synapse!.baseUrl, user: "admin", password: adminPassword, admin: true });
        assert.equal(first.status, 0, first.output);
        const again = registerWithSharedSecret({ keysFile: synapseKeysFile(settings), baseUrl: synapse!.baseUrl, user: "admin", password: adminPassword, admin: true });
        assert.equal(again.status, 0, again.output);
        assert.ok(!first.output.includes(adminPassword) && !again.output.includes(adminPassword), "the password is never printed");
        const badSecret = { ...settings, configDir: path.join(dir, "wrong") };
        fs.mkdirSync(path.join(badSecret.configDir, "conf.d"), { recursive: true });
        fs.writeFileSync(synapseKeysFile(badSecret), "registration_shared_secret: not-the-secret\n");
        const refused = registerWithSharedSecret({ keysFile: synapseKeysFile(badSecret), baseUrl: synapse!.baseUrl, user: "intruder", password: adminPassword, admin: true });
        assert.notEqual(refused.status, 0, "a wrong shared secret is refused by Synapse");
    });

    it("lets the admin log in, create a room, send a message and see it in /sync", async () => {
        const client = new MatrixClient(synapse!.baseUrl);
        const userId = await client.login("admin", adminPassword);
        assert.equal(userId, "@admin:example.test");
        const admin = await client.request("GET", `/_synapse/admin/v2/users/${encodeURIComponent(userId)}`);
        assert.equal(admin.status, 200);
        assert.equal(admin.json.admin, true);
        const roomId = await client.createRoom("real test");
        const body = `hello from the real tier ${Date.now()}`;
        const eventId = await client.sendText(roomId, body);
        const sync = await client.sync();
        const events = sync.rooms?.join?.[roomId]?.timeline?.events ?? [];
        const found = events.find((e: any) => e.event_id === eventId);
        assert.ok(found, "message in /sync");
        assert.equal(found.content.body, body);
    });

    it("enforces the rendered password policy (minimum length 12, digits, upper case)", async () => {
        const client = new MatrixClient(synapse!.baseUrl);
        await client.login("admin", adminPassword);
        const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: "admin" }, password: adminPassword };
        const short = await client.request("POST", "/_matrix/client/v3/account/password", { new_password: "Sh0rt", logout_devices: false, auth });
        assert.equal(short.status, 400);
        assert.equal(short.json.errcode, "M_PASSWORD_TOO_SHORT");
        const noDigit = await client.request("POST", "/_matrix/client/v3/account/password", { new_password: "NoDigitsAtAllHere", logout_devices: false, auth });
        assert.equal(noDigit.json.errcode, "M_PASSWORD_NO_DIGIT");
    });

    it("enforces the rendered media limit (max_upload_size 50M)", async () => {
        const client = new MatrixClient(synapse!.baseUrl);
        await client.login("admin", adminPassword);
        const r = await client.request("GET", "/_matrix/client/v1/media/config");
        assert.equal(r.status, 200);
        assert.equal(r.json["m.upload.size"], 50 * 1024 * 1024);
    });

    it("applied extraSettings deep-merged into the owning fragment (presence off)", async () => {
        const client = new MatrixClient(synapse!.baseUrl);
        const userId = await client.login("admin", adminPassword);
        const r = await client.request("GET", `/_matrix/client/v3/presence/${encodeURIComponent(userId)}/status`);
        // With presence disabled Synapse answers but never reports the user online.
        assert.equal(r.status, 200);
        assert.notEqual(r.json.presence, "online");
        const server = fs.readFileSync(path.join(settings.configDir, "conf.d/server.yaml"), "utf8");
        assert.match(server, /presence:\n {2}enabled: false/);
    });

    it("keeps secret files 0640 and readable by the service group only", () => {
        for (const f of ["conf.d/keys.yaml", "conf.d/database.yaml", "conf.d/authentication.yaml"]) {
            const st = fs.statSync(path.join(settings.configDir, f));
            assert.equal((st.mode & 0o777).toString(8), "640", f);
        }
        assert.equal((fs.statSync(settings.signingKeyPath).mode & 0o777).toString(8), "640");
    });
});
