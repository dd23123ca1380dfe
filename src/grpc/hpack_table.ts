/**
 * The HPACK indexing tables (RFC 7541 §2.3): the static table of Appendix A and one connection direction's dynamic
 * table, addressed as one index space. Names and values are latin1 strings, one character per octet.
 * @module
 */

/** One entry of the static or dynamic table. */
export interface TableEntry {
  /** Field name. */
  readonly name: string;
  /** Field value. */
  readonly value: string;
}

// RFC 7541 Appendix A, index 1 first.
const STATIC_TABLE: readonly TableEntry[] = (
  [
    [":authority", ""],
    [":method", "GET"],
    [":method", "POST"],
    [":path", "/"],
    [":path", "/index.html"],
    [":scheme", "http"],
    [":scheme", "https"],
    [":status", "200"],
    [":status", "204"],
    [":status", "206"],
    [":status", "304"],
    [":status", "400"],
    [":status", "404"],
    [":status", "500"],
    ["accept-charset", ""],
    ["accept-encoding", "gzip, deflate"],
    ["accept-language", ""],
    ["accept-ranges", ""],
    ["accept", ""],
    ["access-control-allow-origin", ""],
    ["age", ""],
    ["allow", ""],
    ["authorization", ""],
    ["cache-control", ""],
    ["content-disposition", ""],
    ["content-encoding", ""],
    ["content-language", ""],
    ["content-length", ""],
    ["content-location", ""],
    ["content-range", ""],
    ["content-type", ""],
    ["cookie", ""],
    ["date", ""],
    ["etag", ""],
    ["expect", ""],
    ["expires", ""],
    ["from", ""],
    ["host", ""],
    ["if-match", ""],
    ["if-modified-since", ""],
    ["if-none-match", ""],
    ["if-range", ""],
    ["if-unmodified-since", ""],
    ["last-modified", ""],
    ["link", ""],
    ["location", ""],
    ["max-forwards", ""],
    ["proxy-authenticate", ""],
    ["proxy-authorization", ""],
    ["range", ""],
    ["referer", ""],
    ["refresh", ""],
    ["retry-after", ""],
    ["server", ""],
    ["set-cookie", ""],
    ["strict-transport-security", ""],
    ["transfer-encoding", ""],
    ["user-agent", ""],
    ["vary", ""],
    ["via", ""],
    ["www-authenticate", ""],
  ] as const
).map(([name, value]) => ({ name, value }));

/** How many entries the static table has; dynamic table indices start right after (RFC 7541 §2.3.3). */
export const STATIC_TABLE_LENGTH = STATIC_TABLE.length;

// Static lookups for the encoder: the first index of each name, and of each name and value.
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(({ name, value }, i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  const values = STATIC_FIELD_INDEX.get(name) ?? new Map<string, number>();
  values.set(value, i + 1);
  STATIC_FIELD_INDEX.set(name, values);
});

/** The size an entry counts for against the table's maximum: its octets plus 32 (RFC 7541 §4.1). */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/** What {@link HeaderTable.find} found: an index, and whether its entry has the value too or only the name. */
export interface TableMatch {
  /** The index, static or dynamic. */
  index: number;
  /** Whether the entry's value matches as well as its name. */
  exact: boolean;
}

/** The static table followed by a dynamic table of bounded size, as one decoder or encoder sees them. */
export class HeaderTable {
  // Newest last, so that adding is a push; dynamic index 1 is the last element (RFC 7541 §2.3.3).
  readonly #entries: TableEntry[] = [];
  #size = 0;
  #maxSize: number;

  /** Creates a table whose dynamic part holds at most `maxSize` octets (RFC 7541 §4.1 accounting). */
  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** The octets the dynamic entries count for now. */
  get size(): number {
    return this.#size;
  }

  /** The current maximum size of the dynamic part. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** How many entries the dynamic part holds. */
  get dynamicLength(): number {
    return this.#entries.length;
  }

  /** Returns the entry at `index` (1 is the first static entry), or undefined when no entry has that index. */
  get(index: number): TableEntry | undefined {
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1];
    return this.#entries[this.#entries.length - (index - STATIC_TABLE_LENGTH)];
  }

  /**
   * Adds an entry as the newest, first evicting the oldest entries until it fits; an entry larger than the maximum
   * leaves the table empty and is not added (RFC 7541 §4.4).
   */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.#evictUntil(this.#maxSize - size);
    if (size > this.#maxSize) return;
    this.#entries.push({ name, value });
    this.#size += size;
  }

  /** Changes the maximum size, evicting the oldest entries until the table fits (RFC 7541 §4.3). */
  setMaxSize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evictUntil(maxSize);
  }

  /**
   * Finds `name` with `value`, or else `name` alone: static entries before dynamic ones, newer dynamic entries before
   * older ones. Returns undefined when neither table has the name.
   */
  find(name: string, value: string): TableMatch | undefined {
    const exactStatic = STATIC_FIELD_INDEX.get(name)?.get(value);
    if (exactStatic !== undefined) return { index: exactStatic, exact: true };
    let nameIndex = STATIC_NAME_INDEX.get(name);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.name !== name) continue;
      const index = STATIC_TABLE_LENGTH + this.#entries.length - i;
      if (entry.value === value) return { index, exact: true };
      nameIndex ??= index;
    }
    return nameIndex === undefined ? undefined : { index: nameIndex, exact: false };
  }

  #evictUntil(limit: number): void {
    let evicted = 0;
    while (this.#size > limit && evicted < this.#entries.length) {
      const oldest = this.#entries[evicted++]!;
      this.#size -= entrySize(oldest.name, oldest.value);
    }
    if (evicted > 0) this.#entries.splice(0, evicted);
  }
}
