/**
 * The program body shared by index.ts and the plan CLI: read this stack's config, validate it
 * (before any resource exists), build the deployment, return the stack outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, loadStackConfig, SecretKey } from "./config";
import { MatrixDeployment } from "./deployment";

export function runProgram(): Record<string, pulumi.Output<unknown>> {
    // Validation first: a bad key throws here and nothing is registered.
    const { config, secretKeysSet } = loadStackConfig(pulumi.runtime.allConfig());
    const cfg = new pulumi.Config(CONFIG_NAMESPACE);
    const optionalSecret = (key: SecretKey) => (secretKeysSet.includes(key) ? cfg.requireSecret(key) : undefined);
    const deployment = new MatrixDeployment(pulumi.getStack(), {
        config,
        sshPrivateKey: cfg.requireSecret("sshPrivateKey"),
        postgresAdminPassword: cfg.requireSecret("postgresAdminPassword"),
        smtpPassword: optionalSecret("smtpPassword"),
        tlsPrivateKey: optionalSecret("tlsPrivateKey"),
        recaptchaPrivateKey: optionalSecret("recaptchaPrivateKey"),
        ldapBindPassword: optionalSecret("ldapBindPassword"),
        oidcClientSecret: optionalSecret("oidcClientSecret"),
    });
    return {
        matrixDomain: pulumi.output(config.matrixDomain),
        homeserverUrl: deployment.homeserverUrl,
        elementUrl: deployment.elementUrl,
        adminUserId: deployment.adminUserId,
        adminPassword: pulumi.secret(deployment.adminPassword),
        signingKeyId: deployment.signingKeyId,
        dnsRecordsToPublish: deployment.dnsRecordsToPublish,
        wellKnownServerJson: deployment.wellKnownServerJson,
        wellKnownClientJson: deployment.wellKnownClientJson,
    };
}
