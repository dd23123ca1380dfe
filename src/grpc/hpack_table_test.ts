import assert from "node:assert/strict";
import { entrySize, HeaderTable, STATIC_TABLE_LENGTH } from "./hpack_table.ts";

const dynamicEntries = (table: HeaderTable) =>
  Array.from({ length: table.dynamicLength }, (_, i) => table.get(STATIC_TABLE_LENGTH + 1 + i));

// RFC 7541 Appendix A as "index name [value]" lines: a second transcription, in the RFC's own layout.
const APPENDIX_A = `
  1 :authority             2 :method GET          3 :method POST           4 :path /
  5 :path /index.html      6 :scheme http         7 :scheme https          8 :status 200
  9 :status 204           10 :status 206         11 :status 304           12 :status 400
 13 :status 404           14 :status 500         15 accept-charset        16 accept-encoding gzip, deflate
 17 accept-language       18 accept-ranges       19 accept                20 access-control-allow-origin
 21 age                   22 allow               23 authorization         24 cache-control
 25 content-disposition   26 content-encoding    27 content-language      28 content-length
 29 content-location      30 content-range       31 content-type          32 cookie
 33 date                  34 etag                35 expect                36 expires
 37 from                  38 host                39 if-match              40 if-modified-since
 41 if-none-match         42 if-range            43 if-unmodified-since   44 last-modified
 45 link                  46 location            47 max-forwards          48 proxy-authenticate
 49 proxy-authorization   50 range               51 referer               52 refresh
 53 retry-after           54 server              55 set-cookie            56 strict-transport-security
 57 transfer-encoding     58 user-agent          59 vary                  60 via
 61 www-authenticate`;

Deno.test("HeaderTable.get() addresses the RFC 7541 Appendix A static table from 1 to 61", () => {
  const table = new HeaderTable(4096);
  const rows = [...APPENDIX_A.matchAll(/(\d+) (\S+)(?: (gzip, deflate|[^\s]+(?= +\d| *$)))?/gm)];
  assert.equal(rows.length, 61);
  assert.equal(STATIC_TABLE_LENGTH, 61);
  for (const [, index, name, value = ""] of rows) {
    assert.deepEqual(table.get(Number(index)), { name, value }, `index ${index}`);
  }
  for (const index of [0, -1, 62, 1000]) assert.equal(table.get(index), undefined, `index ${index}`);
});

Deno.test("HeaderTable.add() puts the newest entry at index 62 and counts octets plus 32", () => {
  const table = new HeaderTable(4096);
  table.add("a", "1");
  table.add("bb", "22");
  assert.deepEqual(dynamicEntries(table), [{ name: "bb", value: "22" }, { name: "a", value: "1" }]);
  assert.equal(table.size, 34 + 36);
  assert.equal(entrySize("custom-key", "custom-header"), 55); // RFC 7541 C.2.1
});

Deno.test("HeaderTable.add() evicts the oldest entries until the new one fits", () => {
  const table = new HeaderTable(100); // room for two 40-octet entries, not three
  table.add("a", "1234567"); // 40 octets
  table.add("b", "1234567");
  table.add("c", "1234567");
  assert.deepEqual(dynamicEntries(table).map((e) => e?.name), ["c", "b"]);
  assert.equal(table.size, 80);
  table.add("d", "x".repeat(60)); // 93 octets: both go
  assert.deepEqual(dynamicEntries(table).map((e) => e?.name), ["d"]);
});

Deno.test("HeaderTable.add() of an entry larger than the maximum empties the table and adds nothing", () => {
  const table = new HeaderTable(100);
  table.add("a", "1");
  table.add("big", "x".repeat(70)); // 105 octets
  assert.equal(table.dynamicLength, 0);
  assert.equal(table.size, 0);
});

Deno.test("HeaderTable.setMaxSize() evicts down to the new maximum, and 0 empties the table", () => {
  const table = new HeaderTable(4096);
  for (const name of ["a", "b", "c"]) table.add(name, "1234567");
  table.setMaxSize(80);
  assert.deepEqual(dynamicEntries(table).map((e) => e?.name), ["c", "b"]);
  table.setMaxSize(0);
  assert.equal(table.dynamicLength, 0);
  table.add("d", "");
  assert.equal(table.dynamicLength, 0, "nothing fits in 0 octets");
  table.setMaxSize(4096);
  table.add("d", "");
  assert.equal(table.dynamicLength, 1);
});

Deno.test("HeaderTable.find() prefers static entries, then the newest dynamic one, and exact over name matches", () => {
  const table = new HeaderTable(4096);
  table.add(":method", "PATCH");
  table.add("x-a", "1");
  table.add("x-a", "2");
  table.add("date", "today");
  assert.deepEqual(table.find(":method", "GET"), { index: 2, exact: true });
  assert.deepEqual(table.find(":method", "PATCH"), { index: 65, exact: true });
  assert.deepEqual(table.find(":method", "PUT"), { index: 2, exact: false }, "static name first");
  assert.deepEqual(table.find("date", "tomorrow"), { index: 33, exact: false });
  assert.deepEqual(table.find("date", "today"), { index: 62, exact: true });
  assert.deepEqual(table.find("x-a", "1"), { index: 64, exact: true });
  assert.deepEqual(table.find("x-a", "3"), { index: 63, exact: false }, "newest name match");
  assert.equal(table.find("x-b", "1"), undefined);
});
