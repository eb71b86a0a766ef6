/** Field types shared by every part of the stack config schema; each message says what is valid. */
import { z } from "zod";
import { isIP } from "node:net";

/** Lower-case DNS name with at least two labels (no trailing dot, no wildcard). */
export const DNS_NAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Synapse size strings: bytes as an integer, or a number with K/M/G. */
const SIZE_RE = /^[0-9]+[KMG]?$/;
/** Synapse durations: a number followed by ms, s, m, h, d, w or y. */
const DURATION_RE = /^[0-9]+(ms|s|m|h|d|w|y)$/;
const SIZE_MSG = "must be a size such as 50M, 1G or a number of bytes (no spaces, no 'MB')";

export const dnsName = z
    .string()
    .regex(DNS_NAME_RE, "must be a lower-case DNS name such as matrix.example.org (letters, digits, hyphens, at least two labels)");
export const size = z
    .union([z.number(), z.string()], { error: SIZE_MSG })
    .refine((v) => (typeof v === "number" ? Number.isInteger(v) && v > 0 : SIZE_RE.test(v)), { message: SIZE_MSG });
export const duration = z.string().regex(DURATION_RE, "must be a duration such as 30d, 12h or 4w (units ms, s, m, h, d, w, y)");
export const port = z.number().int().min(1).max(65535, "must be a port number between 1 and 65535");
export const ipAddress = z.string().refine((s) => isIP(s) !== 0, "must be an IPv6 or IPv4 address such as 2001:db8::10");
export const ipv4 = z.string().refine((s) => isIP(s) === 4, "must be an IPv4 address such as 203.0.113.10");
export const httpsUrl = z.string().regex(/^https:\/\/[^\s]+$/, "must be an https:// URL");
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be the 64 lower-case hex digits of the file's sha256");
export const cidr = z.string().refine((s) => {
    const [ip, len, ...rest] = s.split("/");
    if (rest.length > 0 || isIP(ip) === 0) return false;
    if (len === undefined) return true;
    const max = isIP(ip) === 4 ? 32 : 128;
    return /^[0-9]{1,3}$/.test(len) && Number(len) <= max;
}, "must be an IP address or CIDR such as 2001:db8::/32 or 203.0.113.7/32");
export const releaseVersion = z.string().regex(/^v?[0-9]+\.[0-9]+\.[0-9]+([.-][0-9A-Za-z.-]+)?$/, "must be a release version such as v1.11.90");
