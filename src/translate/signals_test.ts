import assert from "node:assert/strict";
import { Signal } from "../gen/runtime/v1/api_pb.ts";
import { linuxSignalNumber, signalNumber, toCriSignal } from "./signals.ts";

/** Every CRI Signal value but RUNTIME_DEFAULT, with its enum name. */
const ALL: [string, Signal][] = Object.entries(Signal)
  .filter((entry): entry is [string, Signal] => typeof entry[1] === "number")
  .filter(([, value]) => value !== Signal.RUNTIME_DEFAULT);

/**
 * Names that Linux gives the same number as another name: the CRI enum has both, a number has one name, so a
 * round trip through the number lands on the canonical one.
 */
const ALIASES: Partial<Record<Signal, Signal>> = {
  [Signal.SIGIOT]: Signal.SIGABRT, // 6
  [Signal.SIGCLD]: Signal.SIGCHLD, // 17
  [Signal.SIGPOLL]: Signal.SIGIO, // 29
};

Deno.test("signalNumber()", async (t) => {
  const cases: [Signal, number | undefined][] = [
    [Signal.RUNTIME_DEFAULT, undefined],
    [Signal.SIGHUP, 1],
    [Signal.SIGINT, 2],
    [Signal.SIGQUIT, 3],
    [Signal.SIGABRT, 6],
    [Signal.SIGIOT, 6],
    [Signal.SIGKILL, 9],
    [Signal.SIGUSR1, 10],
    [Signal.SIGSEGV, 11],
    [Signal.SIGUSR2, 12],
    [Signal.SIGPIPE, 13],
    [Signal.SIGTERM, 15],
    [Signal.SIGSTKFLT, 16],
    [Signal.SIGCHLD, 17],
    [Signal.SIGCLD, 17],
    [Signal.SIGCONT, 18],
    [Signal.SIGSTOP, 19],
    [Signal.SIGTSTP, 20],
    [Signal.SIGWINCH, 28],
    [Signal.SIGIO, 29],
    [Signal.SIGPOLL, 29],
    [Signal.SIGPWR, 30],
    [Signal.SIGSYS, 31],
    [Signal.SIGRTMIN, 34],
    [Signal.SIGRTMINPLUS1, 35],
    [Signal.SIGRTMINPLUS3, 37],
    [Signal.SIGRTMINPLUS15, 49],
    [Signal.SIGRTMAXMINUS14, 50],
    [Signal.SIGRTMAXMINUS1, 63],
    [Signal.SIGRTMAX, 64],
  ];
  for (const [signal, number] of cases) {
    await t.step(`signalNumber() is ${number ?? "undefined"} for ${Signal[signal]}`, () => {
      assert.equal(signalNumber(signal), number);
    });
  }

  await t.step("signalNumber() is undefined for a value outside the enum", () => {
    assert.equal(signalNumber(999 as Signal), undefined);
    assert.equal(signalNumber(-1 as Signal), undefined);
  });

  await t.step("signalNumber() gives every Linux signal (1-31, 34-64) to some enum value, and only those", () => {
    const numbers = new Set(ALL.map(([, value]) => signalNumber(value)));
    const linux = [...Array.from({ length: 31 }, (_, i) => i + 1), ...Array.from({ length: 31 }, (_, i) => i + 34)];
    assert.deepEqual([...numbers].sort((a, b) => (a ?? 0) - (b ?? 0)), linux);
  });

  await t.step("signalNumber() gives distinct numbers to all enum values but the three alias pairs", () => {
    const byNumber = new Map<number | undefined, string[]>();
    for (const [name, value] of ALL) {
      byNumber.set(signalNumber(value), [...byNumber.get(signalNumber(value)) ?? [], name]);
    }
    const shared = [...byNumber.values()].filter((names) => names.length > 1).map((names) => names.sort());
    assert.deepEqual(shared, [["SIGABRT", "SIGIOT"], ["SIGCHLD", "SIGCLD"], ["SIGIO", "SIGPOLL"]]);
  });
});

Deno.test("toCriSignal()", async (t) => {
  const cases: [string | number | undefined, Signal][] = [
    ["SIGTERM", Signal.SIGTERM],
    ["TERM", Signal.SIGTERM],
    ["term", Signal.SIGTERM],
    ["sigterm", Signal.SIGTERM],
    ["SigTerm", Signal.SIGTERM],
    ["SIGQUIT", Signal.SIGQUIT],
    ["QUIT", Signal.SIGQUIT],
    ["3", Signal.SIGQUIT],
    [3, Signal.SIGQUIT],
    ["15", Signal.SIGTERM],
    [15, Signal.SIGTERM],
    ["9", Signal.SIGKILL],
    [9, Signal.SIGKILL],
    ["SIGKILL", Signal.SIGKILL],
    ["kill", Signal.SIGKILL],
    ["SIGINT", Signal.SIGINT],
    [2, Signal.SIGINT],
    ["SIGUSR1", Signal.SIGUSR1],
    [10, Signal.SIGUSR1],
    ["SIGWINCH", Signal.SIGWINCH],
    ["SIGIOT", Signal.SIGIOT],
    ["SIGCLD", Signal.SIGCLD],
    ["POLL", Signal.SIGPOLL],
    // A number has one name: the aliases' numbers read as the canonical name.
    [6, Signal.SIGABRT],
    ["17", Signal.SIGCHLD],
    [29, Signal.SIGIO],
    ["SIGRTMIN", Signal.SIGRTMIN],
    ["RTMIN", Signal.SIGRTMIN],
    ["SIGRTMAX", Signal.SIGRTMAX],
    [34, Signal.SIGRTMIN],
    [35, Signal.SIGRTMINPLUS1],
    ["37", Signal.SIGRTMINPLUS3],
    [49, Signal.SIGRTMINPLUS15],
    [50, Signal.SIGRTMAXMINUS14],
    [63, Signal.SIGRTMAXMINUS1],
    [64, Signal.SIGRTMAX],
    ["SIGRTMINPLUS1", Signal.SIGRTMINPLUS1],
    ["SIGRTMAXMINUS1", Signal.SIGRTMAXMINUS1],
    ["", Signal.RUNTIME_DEFAULT],
    [undefined, Signal.RUNTIME_DEFAULT],
    [0, Signal.RUNTIME_DEFAULT],
    ["0", Signal.RUNTIME_DEFAULT],
    [32, Signal.RUNTIME_DEFAULT],
    [33, Signal.RUNTIME_DEFAULT],
    [65, Signal.RUNTIME_DEFAULT],
    [-1, Signal.RUNTIME_DEFAULT],
    ["-9", Signal.RUNTIME_DEFAULT],
    ["SIGFOO", Signal.RUNTIME_DEFAULT],
    ["FOO", Signal.RUNTIME_DEFAULT],
    ["SIG", Signal.RUNTIME_DEFAULT],
    ["RUNTIME_DEFAULT", Signal.RUNTIME_DEFAULT],
    ["15x", Signal.RUNTIME_DEFAULT],
  ];
  for (const [text, signal] of cases) {
    await t.step(`toCriSignal() is ${Signal[signal]} for ${JSON.stringify(text) ?? "undefined"}`, () => {
      assert.equal(toCriSignal(text), signal);
    });
  }

  // systemd-based images say `STOPSIGNAL SIGRTMIN+3`; Podman and moby name real-time signals "RTMIN+n"/"RTMAX-n".
  await t.step({
    name: 'toCriSignal() reads the Linux names "SIGRTMIN+3", "RTMIN+3" and "SIGRTMAX-1"',
    fn: () => {
      assert.equal(toCriSignal("SIGRTMIN+3"), Signal.SIGRTMINPLUS3);
      assert.equal(toCriSignal("RTMIN+3"), Signal.SIGRTMINPLUS3);
      assert.equal(toCriSignal("SIGRTMAX-1"), Signal.SIGRTMAXMINUS1);
    },
  });

  await t.step("toCriSignal() reads every enum name back as its value, aliases included", () => {
    for (const [name, value] of ALL) {
      assert.equal(toCriSignal(name), value, name);
      assert.equal(toCriSignal(name.slice("SIG".length).toLowerCase()), value, name);
    }
  });

  await t.step("toCriSignal(signalNumber()) is the identity for every enum value but the aliases", () => {
    for (const [name, value] of ALL) {
      if (value in ALIASES) continue;
      const n = signalNumber(value);
      assert.equal(toCriSignal(n), value, `${name} (${n})`);
      assert.equal(toCriSignal(String(n)), value, `${name} ("${n}")`);
    }
  });

  await t.step("toCriSignal(signalNumber()) turns SIGIOT, SIGCLD and SIGPOLL into SIGABRT, SIGCHLD and SIGIO", () => {
    for (const [alias, canonical] of Object.entries(ALIASES)) {
      const value = Number(alias) as Signal;
      assert.equal(toCriSignal(signalNumber(value)), canonical, Signal[value]);
    }
  });
});

Deno.test("linuxSignalNumber() numbers the Linux signal names, and nothing else", () => {
  assert.equal(linuxSignalNumber("SIGTERM"), 15);
  assert.equal(linuxSignalNumber("SIGSEGV"), 11);
  assert.equal(linuxSignalNumber("SIGNOPE"), undefined);
});
