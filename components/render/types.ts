/** A file a host should receive. Pure data: render functions return these, host/ writes them. */
export interface RenderedFile {
    /** Absolute path on the host. */
    path: string;
    /** Exact bytes to write (UTF-8 text). */
    content: string;
    /** Octal mode as a string, e.g. "0640". */
    mode: string;
    /** Owning user. */
    owner: string;
    /** Owning group. */
    group: string;
    /** True when the content holds a secret: written with logging off, mode 0640 or tighter. */
    secret: boolean;
}
