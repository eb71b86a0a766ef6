/**
 * From validated options (the zod output types, defaults already filled) to the plain
 * `SynapseSettings` the renderer takes. Paths follow the Debian package layout.
 */
import type { StackConfig } from "../config/schema";
import { SynapseSettings } from "./synapse";

export interface SynapseLayout {
    configDir: string;
    dataDir: string;
    logDir: string;
    user: string;
    group: string;
}

/** Paths and service user of Debian's matrix-synapse-py3 package. */
export const DEBIAN_SYNAPSE_LAYOUT: SynapseLayout = {
    configDir: "/etc/matrix-synapse",
    dataDir: "/var/lib/matrix-synapse",
    logDir: "/var/log/matrix-synapse",
    user: "matrix-synapse",
    group: "matrix-synapse",
};

export interface SynapseSettingsInput {
    serverName: string;
    homeserverDomain: string;
    synapse: StackConfig["synapse"];
    database: StackConfig["database"];
    email: StackConfig["email"];
    layout?: SynapseLayout;
    /** Listener bind addresses; default loopback only (nginx is in front). */
    bindAddresses?: string[];
    /** TURN URIs and policy; default none. */
    turn?: SynapseSettings["turn"];
}

export function resolveSynapseSettings(i: SynapseSettingsInput): SynapseSettings {
    const layout = i.layout ?? DEBIAN_SYNAPSE_LAYOUT;
    const s = i.synapse;
    const e = i.email;
    return {
        serverName: i.serverName,
        publicBaseurl: `https://${i.homeserverDomain}/`,
        configDir: layout.configDir,
        user: layout.user,
        group: layout.group,
        dataDir: layout.dataDir,
        logDir: layout.logDir,
        pidFile: `${layout.dataDir}/homeserver.pid`,
        signingKeyPath: `${layout.configDir}/${i.serverName}.signing.key`,
        listener: { port: s.listenerPort, bindAddresses: i.bindAddresses ?? ["::1", "127.0.0.1"] },
        database: { host: i.database.host, port: i.database.port, name: i.database.name, user: i.database.user, cpMin: i.database.cpMin, cpMax: i.database.cpMax },
        reportStats: s.reportStats,
        presence: s.presence,
        requireAuthForProfileRequests: s.requireAuthForProfileRequests,
        filterTimelineLimit: s.filterTimelineLimit,
        deleteStaleDevicesAfter: s.deleteStaleDevicesAfter,
        registration: { ...s.registration },
        consent: { ...s.consent },
        serverNotices: { ...s.serverNotices },
        federation: { ...s.federation },
        media: { ...s.media },
        retention: { ...s.retention },
        blocking: { ...s.blocking },
        password: { ...s.password },
        email:
            e.enabled && e.smtpHost && e.notifFrom
                ? {
                      smtpHost: e.smtpHost,
                      smtpPort: e.smtpPort,
                      smtpUser: e.smtpUser,
                      forceTls: e.forceTls,
                      requireTransportSecurity: e.requireTransportSecurity,
                      notifFrom: e.notifFrom,
                      appName: e.appName,
                      enableNotifs: e.enableNotifs,
                  }
                : undefined,
        turn: i.turn,
        extraSettings: s.extraSettings,
    };
}
