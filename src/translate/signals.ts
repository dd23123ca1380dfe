/**
 * CRI Signal enum values ⇄ Linux signal numbers (x86-64/arm64 numbering). Pure.
 * @module
 */
import { Signal } from "../gen/runtime/v1/api_pb.ts";

const NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  SIGRTMIN: 34,
  SIGRTMAX: 64,
}; // deno-fmt-ignore

/** The Linux number of a CRI stop signal; `undefined` for RUNTIME_DEFAULT (the image's or SIGTERM). */
export function signalNumber(signal: Signal): number | undefined {
  if (signal === Signal.RUNTIME_DEFAULT) return undefined;
  const name = Signal[signal];
  if (name === undefined) return undefined;
  if (name in NUMBERS) return NUMBERS[name];
  const plus = /^SIGRTMINPLUS(\d+)$/.exec(name);
  if (plus) return 34 + Number(plus[1]);
  const minus = /^SIGRTMAXMINUS(\d+)$/.exec(name);
  if (minus) return 64 - Number(minus[1]);
  return undefined;
}

/** The CRI Signal for a Linux signal name or number as images and Podman give it ("SIGQUIT", "3", "QUIT"). */
export function toCriSignal(text: string | number | undefined): Signal {
  if (text === undefined || text === "" || text === 0) return Signal.RUNTIME_DEFAULT;
  const n = typeof text === "number" ? text : /^\d+$/.test(text) ? Number(text) : undefined;
  if (n !== undefined) {
    const name = Object.entries(NUMBERS).find(([, v]) => v === n)?.[0];
    if (name) return Signal[name as keyof typeof Signal] ?? Signal.RUNTIME_DEFAULT;
    if (n > 34 && n < 50) return Signal[`SIGRTMINPLUS${n - 34}` as keyof typeof Signal] ?? Signal.RUNTIME_DEFAULT;
    if (n >= 50 && n < 64) return Signal[`SIGRTMAXMINUS${64 - n}` as keyof typeof Signal] ?? Signal.RUNTIME_DEFAULT;
    return Signal.RUNTIME_DEFAULT;
  }
  const upper = (text as string).toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  // Linux spells real-time signals relative to the ends: SIGRTMIN+3 (systemd's STOPSIGNAL), SIGRTMAX-1.
  const rt = /^SIGRT(MIN|MAX)([+-])(\d+)$/.exec(name);
  if (rt) return toCriSignal((rt[1] === "MIN" ? 34 : 64) + (rt[2] === "+" ? 1 : -1) * Number(rt[3]));
  return Signal[name as keyof typeof Signal] ?? Signal.RUNTIME_DEFAULT;
}

/** Signal names `Deno.kill` takes, by Linux number (1–31, the standard signals). */
const DENO_NAMES: ReadonlyMap<number, Deno.Signal> = new Map(
  ([
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
  ] as const).map((name) => [NUMBERS[name]!, name]),
); // deno-fmt-ignore

/** The Linux number of a signal name (`SIGTERM` → 15); undefined for an unknown name. */
export function linuxSignalNumber(name: string): number | undefined {
  return NUMBERS[name];
}

/** The name `Deno.kill` takes for a Linux signal number; undefined for real-time and unknown signals. */
export function signalName(n: number): Deno.Signal | undefined {
  return DENO_NAMES.get(n);
}
