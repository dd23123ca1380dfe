import assert from "node:assert/strict";
import { conmonContainerId, parseNetDev, parseProcStat, parseProcStatusMemory, ProcReader } from "./proc_stats.ts";

// A real line of /proc/<pid>/stat (a shell), with a name that holds a space and a parenthesis.
const STAT = "4242 (my (sh) x) S 4200 4242 4242 0 -1 4194560 150 30 2 1 12 5 7 3 20 0 3 0 987654 2424832 210 " +
  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

Deno.test("parseProcStat() reads pid, parent, name, CPU with waited-for children, faults, threads, start", () => {
  assert.deepEqual(parseProcStat(STAT), {
    pid: 4242,
    ppid: 4200,
    comm: "my (sh) x",
    state: "S",
    cpuTicks: 12n + 5n + 7n + 3n,
    minorFaults: 150n + 30n,
    majorFaults: 2n + 1n,
    threads: 3,
    startTicks: 987654n,
  });
  assert.equal(parseProcStat(""), undefined);
  assert.equal(parseProcStat("12 (x) S 1"), undefined, "cut short");
});

Deno.test("parseProcStatusMemory() reads RssAnon, RssFile and RssShmem in bytes; a kernel thread has none", () => {
  const text = "Name:\tsh\nVmRSS:\t    3000 kB\nRssAnon:\t    1000 kB\nRssFile:\t    1900 kB\nRssShmem:\t     100 kB\n";
  assert.deepEqual(parseProcStatusMemory(text), { anon: 1024000n, file: 1945600n, shmem: 102400n });
  assert.deepEqual(parseProcStatusMemory("Name:\tkthreadd\n"), { anon: 0n, file: 0n, shmem: 0n });
});

Deno.test("parseNetDev() reads every interface's receive and transmit counters", () => {
  const text = [
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0",
    "  eth0:    5000      40    1    2    0     0          0         0     7000      50    3    4    0     0       0          0",
  ].join("\n");
  const [lo, eth0] = parseNetDev(text);
  assert.equal(lo?.name, "lo");
  assert.deepEqual(eth0, {
    name: "eth0",
    rxBytes: 5000n,
    rxPackets: 40n,
    rxErrors: 1n,
    rxDropped: 2n,
    txBytes: 7000n,
    txPackets: 50n,
    txErrors: 3n,
    txDropped: 4n,
  });
});

Deno.test("conmonContainerId() finds -c, --cid and --cid= on a conmon command line", () => {
  assert.equal(conmonContainerId(["/usr/bin/conmon", "--api-version", "1", "-c", "abc", "-u", "abc"]), "abc");
  assert.equal(conmonContainerId(["conmon", "--cid", "def"]), "def");
  assert.equal(conmonContainerId(["conmon", "--cid=ghi"]), "ghi");
  assert.equal(conmonContainerId(["conmon", "-c"]), undefined);
  assert.equal(conmonContainerId([]), undefined);
});

Deno.test("ProcReader reads this very process from the real /proc", () => {
  const proc = new ProcReader();
  const snapshot = proc.scan();
  const self = snapshot.processes.get(Deno.pid);
  assert.ok(self, "this process is in the scan");
  assert.equal(self.ppid, Deno.ppid);
  assert.ok(self.threads >= 1);
  assert.ok(proc.memory(Deno.pid).anon > 0n, "a Deno process has anonymous memory");
  assert.ok(proc.argv(Deno.pid).length > 0);
  assert.match(proc.netNamespace("self") ?? "", /^net:\[\d+\]$/);
  assert.ok(proc.bootTimeSeconds() > 1_000_000_000);
  assert.ok(Math.abs(Number(snapshot.takenAtNs / 1_000_000n) - Date.now()) < 60_000);
  // A pid that does not exist reads as nothing, not as an error.
  assert.deepEqual(proc.memory(2 ** 30), { anon: 0n, file: 0n, shmem: 0n });
  assert.deepEqual(proc.argv(2 ** 30), []);
  assert.equal(proc.netDev(2 ** 30), undefined);
});
