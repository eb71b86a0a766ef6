import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { engine } from "./engine";
import { isSecretWrapper, MockEngine, resolve, settle } from "../../scripts/lib/mock-engine";

describe("the program (index.ts body) under mocks", () => {
    let e: MockEngine;
    let runProgram: typeof import("../../components/program").runProgram;
    const good: Record<string, string> = {
        "matrix-maas:matrixDomain": "example.com",
        "matrix-maas:homeserverDomain": "matrix.example.com",
        "matrix-maas:elementDomain": "chat.example.com",
        "matrix-maas:hosts": JSON.stringify({ main: { address: "2001:db8::77" } }),
        "matrix-maas:proxy": JSON.stringify({ acmeEmail: "hostmaster@example.com" }),
        "matrix-maas:element": JSON.stringify({ version: "v1.11.34", sha256: "627e02f34469707100da7df60aaa15599a7e99513ad115ef161dff2ea11db35c" }),
        "matrix-maas:sshPrivateKey": "program-test-ssh-key",
        "matrix-maas:postgresAdminPassword": "program-test-pg-admin-password",
    };
    const secretKeys = ["matrix-maas:sshPrivateKey", "matrix-maas:postgresAdminPassword"];

    before(async () => {
        e = await engine();
        runProgram = require("../../components/program").runProgram;
    });

    it("registers nothing when the config is invalid, and names the key", () => {
        const before = e.registrations.length;
        pulumi.runtime.setAllConfig({ ...good, "matrix-maas:elementDomain": "matrix.example.com" }, secretKeys);
        assert.throws(() => runProgram(), /matrix-maas:elementDomain must differ from homeserverDomain/);
        assert.equal(e.registrations.length, before);
    });

    it("builds the deployment and exports secrets only as secrets", async () => {
        pulumi.runtime.setAllConfig(good, secretKeys);
        const outputs = runProgram();
        await settle();
        const { value: pw, secret } = await resolve(outputs.adminPassword as pulumi.Output<string>);
        assert.equal(secret, true);
        assert.match(pw, /^<secret:/);
        assert.equal((await resolve(outputs.homeserverUrl)).value, "https://matrix.example.com/");
        for (const [k, o] of Object.entries(outputs)) {
            if (k === "adminPassword") continue;
            const { value } = await resolve(o);
            assert.ok(!String(value).includes("<secret:"), `${k} holds no secret`);
        }
        const provider = e.registrations.find((r) => r.type === "pulumi:providers:postgresql" && r.name === "unit-postgres");
        assert.ok(provider, "postgresql provider registered");
        assert.equal(typeof provider.wrappedInputs.password, "object", "provider password is secret-wrapped");
        const svc = e.registrations.find((r) => r.name === "unit-homeserver-service-restart")!;
        assert.ok(isSecretWrapper(svc.wrappedInputs.connection), "SSH connection (with the key) secret-wrapped");
        assert.equal(svc.inputs.connection.host, "2001:db8::77");
        assert.equal(svc.inputs.connection.privateKey, "program-test-ssh-key");
    });
});
