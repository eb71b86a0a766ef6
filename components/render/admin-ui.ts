/**
 * synapse-admin / Ketesa: the static app's `config.json`. Pure.
 */
import { deepMerge, toJson } from "./format";

const HTTPS_URL_RE = /^https:\/\/[^\s/?#]+(\/[^\s]*)?$/;

/** Where the admin UI lives on the proxy host: releases under `installDir`, `current` symlink, config beside it. */
export const ADMIN_UI_LAYOUT = {
    installDir: "/var/www/synapse-admin",
    /** Directory nginx serves (symlink switched by the release fetch). */
    root: "/var/www/synapse-admin/current",
    /** config.json, outside the release directories so a new release keeps it; nginx serves it by alias. */
    configPath: "/var/www/synapse-admin/config.json",
} as const;

export interface AdminUiConfigInput {
    /** The one homeserver the UI may log in to (`restrictBaseUrl`), e.g. https://matrix.example.org. */
    homeserverUrl: string;
    /** Extra keys deep-merged last (e.g. Ketesa `asManagedUsers`, `menu`). Default {}. */
    extraSettings?: Record<string, unknown>;
}

/** config.json for synapse-admin: logins are restricted to the homeserver's base URL. */
export function renderAdminUiConfig(i: AdminUiConfigInput): string {
    const url = i.homeserverUrl.replace(/\/+$/, "");
    if (!HTTPS_URL_RE.test(url)) throw new Error(`admin UI: homeserverUrl must be an https:// URL, got ${JSON.stringify(i.homeserverUrl)}`);
    return toJson(deepMerge({ restrictBaseUrl: url }, i.extraSettings ?? {}));
}
