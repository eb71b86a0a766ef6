/**
 * A shell script that installs a pinned release tarball on a host: download, check the sha256
 * before anything is extracted, extract into a versioned directory, switch a `current` symlink
 * atomically, prune old releases. Idempotent: when the pinned release is already current it
 * exits without downloading. Pure; used by AdminUi and ElementClient.
 */
import { shellQuote } from "./format";

const SHA256_RE = /^[0-9a-f]{64}$/;
const HTTPS_URL_RE = /^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[^\s'"\\]*$/;
const LOOPBACK_HTTP_URL_RE = /^http:\/\/(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\]|localhost)(:[0-9]{1,5})?\/[^\s'"\\]*$/;
const ABS_PATH_RE = /^\/[A-Za-z0-9._@\-/]*[A-Za-z0-9._@-]$/;
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export interface ReleaseFetchInput {
    /** Release tarball URL; https only (see allowLoopbackHttp). */
    url: string;
    /** sha256 of the tarball, 64 lower-case hex digits; checked before extraction. */
    sha256: string;
    /** Install directory: releases go to `<destination>/releases/<id>`, served through `<destination>/current`. */
    destination: string;
    /** Leading path components stripped on extraction (`tar --strip-components`). Default 1. */
    stripComponents?: number;
    /** Label for the release directory, e.g. v1.11.90. Default "release". */
    version?: string;
    /** How many previous releases to keep besides the current one (quick rollback). Default 1. */
    keepPrevious?: number;
    /** Also accept http:// URLs on a loopback address. For tests only. Default false. */
    allowLoopbackHttp?: boolean;
    /** Install curl with apt when it is missing. Default true. */
    installCurl?: boolean;
}

/** The release directory name: `<version>-<first 12 hex of sha256>`. */
export function releaseId(i: Pick<ReleaseFetchInput, "version" | "sha256">): string {
    return `${i.version ?? "release"}-${i.sha256.slice(0, 12)}`;
}

/** Throws an Error naming the bad field. */
export function validateReleaseFetch(i: ReleaseFetchInput): void {
    const loopbackOk = (i.allowLoopbackHttp ?? false) && LOOPBACK_HTTP_URL_RE.test(i.url);
    if (!HTTPS_URL_RE.test(i.url) && !loopbackOk) throw new Error(`release fetch: url must be an https:// URL, got ${JSON.stringify(i.url)}`);
    if (!SHA256_RE.test(i.sha256)) throw new Error(`release fetch: sha256 must be 64 lower-case hex digits, got ${JSON.stringify(i.sha256)}`);
    if (!ABS_PATH_RE.test(i.destination) || i.destination.split("/").includes("..")) {
        throw new Error(`release fetch: destination must be a plain absolute directory such as /var/www/element, got ${JSON.stringify(i.destination)}`);
    }
    const strip = i.stripComponents ?? 1;
    if (!Number.isInteger(strip) || strip < 0 || strip > 10) throw new Error(`release fetch: stripComponents must be an integer 0..10, got ${strip}`);
    if (i.version !== undefined && !LABEL_RE.test(i.version)) throw new Error(`release fetch: version must be letters, digits and ._+-, got ${JSON.stringify(i.version)}`);
    const keep = i.keepPrevious ?? 1;
    if (!Number.isInteger(keep) || keep < 0) throw new Error(`release fetch: keepPrevious must be a non-negative integer, got ${keep}`);
}

/** The script (bash, strict mode). Run as root; prints one line and exits 0 when nothing is to do. */
export function renderFetchVerifiedTarball(i: ReleaseFetchInput): string {
    validateReleaseFetch(i);
    const strip = i.stripComponents ?? 1;
    const keep = i.keepPrevious ?? 1;
    const https = HTTPS_URL_RE.test(i.url);
    const proto = https ? "=https" : "=http";
    const installCurl = i.installCurl ?? true;
    return `set -euo pipefail
dest=${shellQuote(i.destination)}
id=${shellQuote(releaseId(i))}
sha=${shellQuote(i.sha256)}
url=${shellQuote(i.url)}
if [ -L "$dest/current" ] && [ "$(readlink "$dest/current")" = "releases/$id" ] && [ -d "$dest/releases/$id" ] \\
  && [ -f "$dest/releases/$id.sha256" ] && [ "$(cat "$dest/releases/$id.sha256")" = "$sha" ]; then
  echo "release $id is already current in $dest"
  exit 0
fi
${
    installCurl
        ? `if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends curl ca-certificates
fi`
        : `command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 1; }`
}
install -d -m 0755 "$dest" "$dest/releases"
work=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
curl -fsSL --proto ${proto} --proto-redir ${proto} --retry 3 --connect-timeout 20 --max-time 900 -o "$work/release.tar" "$url"
actual=$(sha256sum "$work/release.tar" | cut -d' ' -f1)
if [ "$actual" != "$sha" ]; then
  echo "sha256 mismatch for $url: expected $sha, got $actual; nothing was extracted" >&2
  exit 1
fi
mkdir "$work/tree"
tar -xf "$work/release.tar" -C "$work/tree" --strip-components=${strip} --no-same-owner --no-same-permissions
if [ -z "$(ls -A "$work/tree")" ]; then
  echo "$url is empty after --strip-components=${strip}" >&2
  exit 1
fi
chmod -R u=rwX,go=rX "$work/tree"
rm -rf "$dest/releases/$id"
mv "$work/tree" "$dest/releases/$id"
printf '%s\\n' "$sha" > "$dest/releases/$id.sha256"
ln -sfn "releases/$id" "$dest/.current.new"
mv -Tf "$dest/.current.new" "$dest/current"
echo "release $id installed in $dest"
find "$dest/releases" -mindepth 1 -maxdepth 1 -type d ! -name "$id" -printf '%T@ %f\\n' | sort -rn | tail -n +${keep + 1} | cut -d' ' -f2- |
  while IFS= read -r old; do rm -rf "$dest/releases/$old" "$dest/releases/$old.sha256"; done
`;
}
