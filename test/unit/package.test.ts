import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { engine } from "./engine";

const ROOT = path.resolve(__dirname, "../..");

describe("npm package (built by npm run build)", () => {
    before(async function () {
        await engine();
        if (!fs.existsSync(path.join(ROOT, "dist/components/index.js"))) {
            console.log("    dist/ missing: run `npm run build` first (npm test does)");
            this.skip();
        }
    });

    it("lets another project `import { Homeserver } from \"matrix-maas\"` (JS + .d.ts)", () => {
        const resolved = require.resolve("matrix-maas");
        assert.equal(resolved, path.join(ROOT, "dist/components/index.js"));
        const lib = require("matrix-maas");
        for (const name of ["Homeserver", "MatrixDeployment", "RemoteFile", "Service", "Packages", "DnsRecords", "stackConfigSchema"]) {
            assert.equal(typeof lib[name], name === "stackConfigSchema" ? "object" : "function", name);
        }
        const dts = fs.readFileSync(path.join(ROOT, "dist/components/index.d.ts"), "utf8");
        assert.match(dts, /homeserver/);
        assert.ok(fs.existsSync(path.join(ROOT, "dist/components/homeserver/homeserver.d.ts")));
        assert.match(fs.readFileSync(path.join(ROOT, "dist/components/homeserver/homeserver.d.ts"), "utf8"), /export interface HomeserverArgs/);
        const render = require("matrix-maas/render");
        assert.equal(typeof render.renderSynapseConfig, "function");
    });
});
