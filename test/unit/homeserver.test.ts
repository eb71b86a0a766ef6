import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { engine, TEST_SSH_KEY } from "./engine";
import { isSecretWrapper, MockEngine, plainStrings, Registration, resolve, settle } from "../../scripts/lib/mock-engine";

type HomeserverModule = typeof import("../../components/homeserver");

describe("Homeserver (mocks)", () => {
    let e: MockEngine;
    let mod: HomeserverModule;
    let hs: InstanceType<HomeserverModule["Homeserver"]>;
    let mine: Registration[];
    let synapseFiles: number;

    const host = { name: "main", address: "2001:db8::10", privateKey: pulumi.secret(TEST_SSH_KEY) };

    before(async () => {
        e = await engine();
        mod = require("../../components/homeserver");
        hs = new mod.Homeserver("hs1", {
            serverName: "example.org",
            homeserverDomain: "matrix.example.org",
            host,
            email: { enabled: true, smtpHost: "smtp.example.org", smtpUser: "matrix", notifFrom: "Chat <noreply@example.org>" },
            smtpPassword: pulumi.secret("smtp-password-value-for-test"),
        });
        await settle();
        mine = e.registrations.filter((r) => r.name === "hs1" || r.name.startsWith("hs1-"));
        synapseFiles = mine.filter((r) => r.type === "command:remote:Command" && String(r.inputs.triggers?.[2] ?? "").startsWith("/etc/matrix-synapse/") && !String(r.inputs.triggers[2]).endsWith(".signing.key")).length;
    });

    const byName = (n: string) => {
        const r = mine.find((x) => x.name === n);
        assert.ok(r, `resource ${n} registered`);
        return r;
    };

    it("registers the expected resources, each parented under the Homeserver", () => {
        const types = (t: string) => mine.filter((r) => r.type === t).length;
        assert.equal(types("matrix-maas:index:Homeserver"), 1);
        assert.equal(types("random:index/randomPassword:RandomPassword"), 6);
        assert.equal(types("tls:index/privateKey:PrivateKey"), 1);
        assert.equal(types("postgresql:index/role:Role"), 1);
        assert.equal(types("postgresql:index/database:Database"), 1);
        assert.equal(types("matrix-maas:index:Service"), 1);
        assert.equal(types("matrix-maas:index:Packages"), 1);
        // One RemoteFile per Synapse file (24 with the default settings) + the signing key.
        assert.equal(synapseFiles, 24);
        assert.equal(types("matrix-maas:index:RemoteFile"), synapseFiles + 1);
        for (const r of mine) {
            if (r.name === "hs1") continue;
            assert.ok(r.parent && r.name.startsWith(r.parent + "-"), `${r.name} has parent ${r.parent}`);
            assert.ok(r.parentUrn.includes("matrix-maas:index:Homeserver"), `${r.name} sits under the Homeserver (${r.parentUrn})`);
        }
    });

    it("creates the database UTF8 with C collation from template0, owned by its role", () => {
        const db = byName("hs1-db").inputs;
        assert.equal(db.encoding, "UTF8");
        assert.equal(db.lcCollate, "C");
        assert.equal(db.lcCtype, "C");
        assert.equal(db.template, "template0");
        assert.equal(db.name, "synapse");
        assert.equal(db.owner, byName("hs1-db-role").inputs.name);
        assert.equal(byName("hs1-db-role").inputs.login, true);
    });

    it("keeps database, role, signing key and media store on destroy by default", () => {
        for (const n of ["hs1-db", "hs1-db-role", "hs1-signing-key", "hs1-signing-key-id", "hs1-media-store"]) {
            assert.equal(byName(n).retainOnDelete, true, `${n} retainOnDelete`);
        }
        const keyWrite = byName("hs1-signing-key-file-write");
        assert.equal(keyWrite.retainOnDelete, true);
        assert.equal(keyWrite.inputs.delete, undefined, "no delete command for the signing key");
        // An ordinary config file is removed on destroy.
        assert.ok(String(byName("hs1-config-conf-d-server-write").inputs.delete).includes("rm -f"));
    });

    it("exposes every secret output as a Pulumi secret", async () => {
        for (const o of [hs.adminPassword, hs.registrationSharedSecret]) {
            const { value, secret } = await resolve(o);
            assert.ok(value.length > 0);
            assert.equal(secret, true);
        }
        const { value: keyId, secret } = await resolve(hs.signingKeyId);
        assert.match(keyId, /^ed25519:a_[A-Za-z0-9]{4}$/);
        assert.equal(secret, false);
    });

    it("never puts a secret value outside a secret-wrapped input (commands, triggers, connection)", () => {
        const secrets = [...e.secretValues.keys(), "smtp-password-value-for-test", TEST_SSH_KEY];
        let checked = 0;
        for (const r of mine) {
            for (const { path, value } of plainStrings(r.wrappedInputs)) {
                checked++;
                for (const s of secrets) assert.ok(!value.includes(s), `${r.name}.${path} leaks a secret`);
            }
        }
        assert.ok(checked > 100, `scanned ${checked} strings`);
        // Every remote command string in particular.
        for (const r of mine.filter((x) => x.type === "command:remote:Command")) {
            for (const field of ["create", "update", "delete"]) {
                const v = r.inputs[field];
                if (typeof v === "string") for (const s of secrets) assert.ok(!v.includes(s), `${r.name}.${field} contains a secret`);
            }
        }
    });

    it("writes secret files 0640 root:matrix-synapse over stdin with logging off", () => {
        const secretWrites = mine.filter((r) => r.type === "command:remote:Command" && /(database|keys|authentication|email|turn|workers|signing-key-file)-write$/.test(r.name));
        assert.equal(secretWrites.length, 7);
        for (const r of secretWrites) {
            assert.equal(r.inputs.logging, "none", r.name);
            assert.ok(r.wrappedInputs.stdin && typeof r.wrappedInputs.stdin === "object", `${r.name} stdin is secret-wrapped`);
            const [, , , owner, mode] = r.inputs.triggers;
            assert.equal(owner, "root:matrix-synapse");
            assert.equal(mode, "0640");
            assert.ok(!String(r.inputs.create).includes(String(r.inputs.stdin).slice(0, 40)), "content not on the command line");
        }
        const keys = byName("hs1-config-conf-d-keys-write").inputs.stdin as string;
        assert.match(keys, /registration_shared_secret: <secret:hs1-registration-shared-secret>/);
        const email = byName("hs1-config-conf-d-email-write").inputs.stdin as string;
        assert.match(email, /smtp_pass: smtp-password-value-for-test/);
    });

    it("bootstraps the admin with register_new_matrix_user, password on stdin", () => {
        const admin = byName("hs1-admin-user");
        const create = String(admin.inputs.create);
        assert.match(create, /register_new_matrix_user --exists-ok -u \S*admin\S* -a -c \S*\/etc\/matrix-synapse\/conf\.d\/keys\.yaml\S* --password-file <\(cat\)/);
        assert.equal(admin.inputs.stdin, "<secret:hs1-admin-password>");
        assert.ok(typeof admin.wrappedInputs.stdin === "object", "stdin secret-wrapped");
        assert.equal(admin.inputs.logging, "none");
        assert.ok(admin.dependencies.some((u) => u.endsWith("::hs1-service-restart")), `waits for the service restart: ${admin.dependencies.join(", ")}`);
    });

    it("restarts Synapse only through file hashes: the service triggers hold every file's hash", () => {
        const svc = byName("hs1-service-restart");
        const triggers = svc.inputs.triggers as string[];
        assert.equal(triggers[0], "matrix-synapse.service");
        const fileHashes = mine.filter((r) => r.name.endsWith("-write")).map((r) => (r.inputs.triggers as string[])[5]);
        assert.equal(fileHashes.length, 25);
        assert.deepEqual([...triggers.slice(1)].sort(), [...fileHashes].sort());
    });

    it("renders the signing key in Synapse's format from the tls key", () => {
        const key = byName("hs1-signing-key-file-write").inputs.stdin as string;
        assert.match(key, /^ed25519 a_[A-Za-z0-9]{4} [A-Za-z0-9+/]{43}\n$/);
        assert.equal(byName("hs1-signing-key").inputs.algorithm, "ED25519");
    });

    it("installs matrix-synapse-py3 from the matrix.org repository with its keyring", () => {
        const install = byName("hs1-packages-install");
        const create = String(install.inputs.create);
        assert.match(create, /signed-by=\/etc\/apt\/keyrings\/matrix-org\.gpg/);
        assert.match(create, /'matrix-synapse-py3'/);
        assert.match(String(install.inputs.stdin), /matrix-synapse\/server-name string example\.org/);
    });

    it("lets release flags drop retention", async () => {
        new mod.Homeserver("hs2", { serverName: "example.net", homeserverDomain: "matrix.example.net", host, release: { database: true, signingKey: true, mediaStore: true } });
        await settle();
        const r = (n: string) => e.registrations.find((x) => x.name === n)!;
        for (const n of ["hs2-db", "hs2-db-role", "hs2-signing-key", "hs2-media-store"]) assert.equal(r(n).retainOnDelete, false, n);
        assert.ok(String(r("hs2-signing-key-file-write").inputs.delete).includes("rm -f"));
    });

    it("writes appservice registrations as secret files, lists them once, restarts once", async () => {
        new mod.Homeserver("hs6", {
            serverName: "example.com",
            homeserverDomain: "matrix.example.com",
            host,
            appServices: [
                { id: "whatsapp", registration: pulumi.secret("id: whatsapp\nas_token: wa-token\n") },
                { id: "signal", registration: pulumi.secret("id: signal\nas_token: sig-token\n") },
            ],
        });
        await settle();
        const r = (n: string) => e.registrations.find((x) => x.name === n)!;
        const list = String(r("hs6-config-conf-d-appservices-write").inputs.stdin);
        assert.match(list, /app_service_config_files:\n {2}- \/etc\/matrix-synapse\/appservices\/signal\.yaml\n {2}- \/etc\/matrix-synapse\/appservices\/whatsapp\.yaml/);
        for (const id of ["whatsapp", "signal"]) {
            const w = r(`hs6-appservice-${id}-write`);
            assert.equal(w.inputs.logging, "none");
            assert.equal(w.inputs.triggers[4], "0640");
            assert.ok(isSecretWrapper(w.wrappedInputs.stdin));
            assert.ok((r("hs6-service-restart").inputs.triggers as string[]).includes(w.inputs.triggers[5]), `${id} hash restarts Synapse`);
        }
        assert.equal(e.registrations.filter((x) => x.name.startsWith("hs6-") && x.type === "matrix-maas:index:Service").length, 1);
        assert.throws(
            () => new mod.Homeserver("hs7", { serverName: "example.com", homeserverDomain: "matrix.example.com", host, appServices: [{ id: "a", registration: "x" }, { id: "a", registration: "y" }] }),
            /appservice ids must be unique/,
        );
    });

    it("installs from PyPI into a venv with a hardened unit when installMethod is venv", async () => {
        new mod.Homeserver("hs8", { serverName: "example.edu", homeserverDomain: "matrix.example.edu", host, synapse: { installMethod: "venv", version: "1.163.2" } });
        await settle();
        const r = (n: string) => e.registrations.find((x) => x.name === n);
        const venv = r("hs8-synapse-venv")!;
        assert.match(String(venv.inputs.create), /matrix-synapse\[postgres,oidc\]==1\.163\.2/);
        assert.match(String(r("hs8-packages-install")!.inputs.create), /'libpq-dev'/);
        assert.ok(!String(r("hs8-packages-install")!.inputs.create).includes("packages.matrix.org"), "no matrix.org repository");
        const unit = r("hs8-unit-write")!;
        assert.equal(unit.inputs.triggers[2], "/etc/systemd/system/matrix-synapse.service");
        assert.match(String(unit.inputs.stdin), /ExecStart=\/opt\/venvs\/matrix-synapse\/bin\/python -m synapse.app.homeserver --config-path=\/etc\/matrix-synapse\/homeserver.yaml --config-path=\/etc\/matrix-synapse\/conf.d\//);
        assert.ok((r("hs8-service-restart")!.inputs.triggers as string[]).includes(unit.inputs.triggers[5]), "a unit change restarts Synapse");
        assert.match(String(r("hs8-admin-user")!.inputs.create), /\/opt\/venvs\/matrix-synapse\/bin\/register_new_matrix_user/);
        assert.ok(venv.dependencies.some((d) => d.endsWith("::hs8-packages-install")), "venv after build packages");
    });

    it("refuses bad arguments with a ResourceError naming the argument", () => {
        assert.throws(
            () => new mod.Homeserver("hs3", { serverName: "Example.org", homeserverDomain: "matrix.example.org", host }),
            /serverName must be a lower-case DNS name/,
        );
        assert.throws(
            () => new mod.Homeserver("hs4", { serverName: "example.org", homeserverDomain: "matrix.example.org", host, synapse: { media: { maxUploadSize: "50 MB" } } }),
            /synapse\.media\.maxUploadSize/,
        );
        assert.throws(
            () => new mod.Homeserver("hs5", { serverName: "example.org", homeserverDomain: "matrix.example.org", host, database: { cpMin: 30, cpMax: 10 } }),
            /cpMin must not exceed/,
        );
    });
});
