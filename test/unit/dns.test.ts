import { strict as assert } from "node:assert";
import { engine } from "./engine";
import { MockEngine, Registration, settle } from "../../scripts/lib/mock-engine";

describe("DnsRecords (mocks)", () => {
    let e: MockEngine;
    let mod: typeof import("../../components/dns");
    let recs: Registration[];

    before(async () => {
        e = await engine();
        mod = require("../../components/dns");
        new mod.DnsRecords("dns1", {
            zoneId: "0123456789abcdef0123456789abcdef",
            matrixDomain: "example.org",
            homeserverDomain: "matrix.example.org",
            names: [
                { fqdn: "example.org", addresses: ["2001:db8::10"] },
                { fqdn: "matrix.example.org", addresses: ["2001:db8::10"] },
                { fqdn: "chat.example.org", addresses: ["2001:db8::10"] },
                { fqdn: "turn.example.org", addresses: ["2001:db8::20", "203.0.113.20"] },
            ],
            ipv4ProxyAddress: "198.51.100.1",
            srvFederation: true,
            srvLegacy: true,
            srvPriority: 10,
            srvWeight: 5,
            srvPort: 443,
            identitySrvTarget: "id.example.org",
        });
        await settle();
        recs = e.registrations.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.name.startsWith("dns1-"));
    });

    const find = (type: string, name: string) => recs.filter((r) => r.inputs.type === type && r.inputs.name === name);

    it("publishes AAAA for every FQDN of the three-domain model, and A via the v4 proxy", () => {
        for (const fqdn of ["example.org", "matrix.example.org", "chat.example.org"]) {
            const aaaa = find("AAAA", fqdn);
            assert.equal(aaaa.length, 1, fqdn);
            assert.equal(aaaa[0].inputs.content, "2001:db8::10");
            assert.deepEqual(find("A", fqdn).map((r) => r.inputs.content), ["198.51.100.1"]);
        }
        assert.deepEqual(find("A", "turn.example.org").map((r) => r.inputs.content).sort(), ["198.51.100.1", "203.0.113.20"]);
    });

    it("never publishes a CNAME and never proxies a Matrix name", () => {
        assert.ok(recs.length >= 11);
        for (const r of recs) {
            assert.notEqual(r.inputs.type, "CNAME");
            if (r.inputs.type !== "SRV") assert.equal(r.inputs.proxied, false, r.name);
            assert.equal(r.inputs.zoneId, "0123456789abcdef0123456789abcdef");
            assert.equal(r.parent, "dns1");
        }
    });

    it("publishes SRV with priority, weight, port and the homeserver as target", () => {
        for (const owner of ["_matrix-fed._tcp.example.org", "_matrix._tcp.example.org"]) {
            const [srv] = find("SRV", owner);
            assert.ok(srv, owner);
            assert.deepEqual(srv.inputs.data, { priority: 10, weight: 5, port: 443, target: "matrix.example.org" });
        }
        const [id] = find("SRV", "_matrix-identity._tcp.example.org");
        assert.equal(id.inputs.data.target, "id.example.org");
    });

    it("looks the zone up by name when no id is given", async () => {
        new mod.DnsRecords("dns2", { zoneName: "example.net", matrixDomain: "example.net", homeserverDomain: "matrix.example.net", names: [{ fqdn: "matrix.example.net", addresses: ["2001:db8::1"] }] });
        await settle();
        assert.ok(e.invokes.some((i) => i.token === "cloudflare:index/getZone:getZone" && i.inputs.filter?.name === "example.net"));
        const r = e.registrations.find((x) => x.name.startsWith("dns2-aaaa"))!;
        assert.match(r.inputs.zoneId, /^[0-9a-f]{32}$/);
        assert.equal(e.registrations.filter((x) => x.name.startsWith("dns2-") && x.inputs.type === "SRV").length, 0, "no SRV unless chosen");
    });

    it("refuses to run without a zone", () => {
        assert.throws(() => new mod.DnsRecords("dns3", { matrixDomain: "a.org", homeserverDomain: "m.a.org", names: [] }), /zoneId or zoneName/);
    });
});

describe("DnsRecords zone filtering (mocks)", () => {
    it("manages only names inside the zone and reports the customer's own names as unmanaged", async () => {
        const e = await engine();
        const mod = require("../../components/dns") as typeof import("../../components/dns");
        const { resolve } = require("../../scripts/lib/mock-engine");
        const d = new mod.DnsRecords("dns4", {
            zoneName: "hoster.example",
            matrixDomain: "acme.example",
            homeserverDomain: "acme.matrix.hoster.example",
            names: [
                { fqdn: "acme.example", addresses: ["2001:db8::5"] },
                { fqdn: "acme.matrix.hoster.example", addresses: ["2001:db8::5"] },
            ],
            srvFederation: true,
        });
        await settle();
        const mine = e.registrations.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.name.startsWith("dns4-"));
        assert.deepEqual(mine.map((r) => r.inputs.name), ["acme.matrix.hoster.example"]);
        const { value } = await resolve(d.unmanagedRecords);
        assert.deepEqual(value, ["AAAA acme.example 2001:db8::5", "SRV _matrix-fed._tcp.acme.example 10 5 443 acme.matrix.hoster.example"]);
    });
});
