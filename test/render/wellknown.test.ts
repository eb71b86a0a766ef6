import { strict as assert } from "node:assert";
import { renderWellKnown, wellKnownDocumentRoot } from "../../components/render/wellknown";
import { renderAdminUiConfig } from "../../components/render/admin-ui";

const base = { homeserverDomain: "matrix.example.org" };

describe("render/wellknown", () => {
    it("server: m.server is the homeserver on 443 (or the chosen port)", () => {
        const d = renderWellKnown(base);
        assert.deepEqual(JSON.parse(d.server), { "m.server": "matrix.example.org:443" });
        assert.deepEqual(JSON.parse(renderWellKnown({ ...base, serverPort: 8448 }).server), { "m.server": "matrix.example.org:8448" });
        assert.ok(d.server.endsWith("}\n"), "trailing newline");
    });

    it("client: base_url, optional identity server, extras merged, sorted keys", () => {
        const plain = JSON.parse(renderWellKnown(base).client);
        assert.deepEqual(plain, { "m.homeserver": { base_url: "https://matrix.example.org" } });
        const text = renderWellKnown({
            ...base,
            identityServer: "https://vector.im/",
            clientExtras: { "io.element.e2ee": { default: false }, "im.vector.riot.jitsi": { preferredDomain: "jitsi.example.org" } },
        }).client;
        const full = JSON.parse(text);
        assert.equal(full["m.homeserver"].base_url, "https://matrix.example.org");
        assert.equal(full["m.identity_server"].base_url, "https://vector.im");
        assert.deepEqual(full["io.element.e2ee"], { default: false });
        assert.deepEqual(Object.keys(full), [...Object.keys(full)].sort(), "sorted keys");
        assert.equal(text, renderWellKnown({ ...base, clientExtras: { "im.vector.riot.jitsi": { preferredDomain: "jitsi.example.org" }, "io.element.e2ee": { default: false } }, identityServer: "https://vector.im/" }).client);
        assert.throws(() => renderWellKnown({ ...base, clientExtras: { "m.homeserver": { base_url: "https://evil.example" } } }), /must not set m\.homeserver/);
    });

    it("support: undefined when there is nothing to publish (never {})", () => {
        assert.equal(renderWellKnown(base).support, undefined);
        assert.equal(renderWellKnown({ ...base, supportContacts: [] }).support, undefined);
    });

    it("support: contacts with matrix_id / email_address / role, and support_page", () => {
        const d = renderWellKnown({
            ...base,
            supportContacts: [
                { role: "m.role.admin", matrixId: "@admin:example.org", emailAddress: "admin@example.org" },
                { role: "m.role.security", emailAddress: "security@example.org" },
            ],
            supportPage: "https://example.org/support",
        });
        assert.deepEqual(JSON.parse(d.support!), {
            contacts: [
                { role: "m.role.admin", matrix_id: "@admin:example.org", email_address: "admin@example.org" },
                { role: "m.role.security", email_address: "security@example.org" },
            ],
            support_page: "https://example.org/support",
        });
        assert.deepEqual(JSON.parse(renderWellKnown({ ...base, supportPage: "https://example.org/help" }).support!), { support_page: "https://example.org/help" });
    });

    it("rejects bad input naming the field", () => {
        assert.throws(() => renderWellKnown({ homeserverDomain: "Matrix.Example.org" }), /homeserverDomain/);
        assert.throws(() => renderWellKnown({ ...base, identityServer: "http://vector.im" }), /identityServer must be an https/);
        assert.throws(() => renderWellKnown({ ...base, supportPage: "ftp://x" }), /supportPage/);
        assert.throws(() => renderWellKnown({ ...base, supportContacts: [{ role: "m.role.admin" }] }), /supportContacts\[0\] needs matrixId or emailAddress/);
        assert.throws(() => renderWellKnown({ ...base, supportContacts: [{ role: "admin", matrixId: "@a:b.org" }] }), /supportContacts\[0\]\.role/);
        assert.throws(() => renderWellKnown({ ...base, supportContacts: [{ role: "m.role.admin", matrixId: "admin" }] }), /matrixId/);
        assert.throws(() => renderWellKnown({ ...base, serverPort: 70000 }), /serverPort/);
    });

    it("document root per Matrix domain", () => {
        assert.equal(wellKnownDocumentRoot("example.org"), "/var/www/matrix-well-known/example.org");
    });
});

describe("render/admin-ui", () => {
    it("restricts logins to the homeserver's base URL; extras merged last", () => {
        assert.deepEqual(JSON.parse(renderAdminUiConfig({ homeserverUrl: "https://matrix.example.org/" })), { restrictBaseUrl: "https://matrix.example.org" });
        const c = JSON.parse(renderAdminUiConfig({ homeserverUrl: "https://matrix.example.org", extraSettings: { asManagedUsers: ["^@bot:example.org$"] } }));
        assert.deepEqual(c.asManagedUsers, ["^@bot:example.org$"]);
        assert.throws(() => renderAdminUiConfig({ homeserverUrl: "http://matrix.example.org" }), /https/);
    });
});
