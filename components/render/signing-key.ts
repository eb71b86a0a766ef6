/**
 * Synapse's signing key format: one line `ed25519 <key id> <unpadded base64 of the 32-byte seed>`.
 * The seed is the last 32 bytes of an ed25519 PKCS#8 DER (what @pulumi/tls gives as privateKeyPemPkcs8).
 */
import { createPrivateKey, createPublicKey } from "node:crypto";

const KEY_ID_RE = /^a_[A-Za-z0-9]{4}$/;

function unpaddedBase64(buf: Buffer): string {
    return buf.toString("base64").replace(/=+$/, "");
}

/** Validate a Synapse key id (`a_` + 4 alphanumerics). */
export function assertSigningKeyId(keyId: string): void {
    if (!KEY_ID_RE.test(keyId)) throw new Error(`signing key id must look like a_AbC1, got ${JSON.stringify(keyId)}`);
}

/** The contents of `<server_name>.signing.key` for an ed25519 key in PKCS#8 PEM. */
export function renderSigningKey(pkcs8Pem: string, keyId: string): string {
    assertSigningKeyId(keyId);
    const key = createPrivateKey(pkcs8Pem);
    if (key.asymmetricKeyType !== "ed25519") throw new Error(`signing key must be ed25519, got ${key.asymmetricKeyType}`);
    const der = key.export({ format: "der", type: "pkcs8" });
    return `ed25519 ${keyId} ${unpaddedBase64(der.subarray(der.length - 32))}\n`;
}

/** The public half as Synapse publishes it in /_matrix/key/v2/server (`verify_keys[ed25519:<id>].key`). */
export function signingKeyPublicBase64(pkcs8Pem: string): string {
    const spki = createPublicKey(createPrivateKey(pkcs8Pem)).export({ format: "der", type: "spki" });
    return unpaddedBase64(spki.subarray(spki.length - 32));
}
