import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SecurityProfile_ProfileType, SecurityProfileSchema } from "../gen/runtime/v1/api_pb.ts";
import { CriError } from "../errors.ts";
import { apparmorChoice, seccompChoice } from "./security_profiles.ts";

const F = "config.linux.security_context";
const profile = (profileType: SecurityProfile_ProfileType, localhostRef = "") =>
  create(SecurityProfileSchema, { profileType, localhostRef });

Deno.test("seccompChoice() reads the field, else the deprecated path as containerd does, and names a bad path", () => {
  assert.deepEqual(seccompChoice({ seccompProfilePath: "" }, F), { kind: "unconfined" });
  assert.deepEqual(seccompChoice({ seccompProfilePath: "docker/default" }, F), { kind: "default" });
  assert.deepEqual(seccompChoice({ seccompProfilePath: "localhost/p.json" }, F), { kind: "localhost", ref: "p.json" });
  assert.deepEqual(
    seccompChoice({ seccomp: profile(SecurityProfile_ProfileType.RuntimeDefault), seccompProfilePath: "bogus" }, F),
    { kind: "default" },
    "the new field wins; the deprecated one is not even looked at",
  );
  for (const bad of ["/var/lib/kubelet/seccomp/p.json", "localhost/", "runtime/defaults", "Unconfined"]) {
    assert.throws(
      () => seccompChoice({ seccompProfilePath: bad }, F),
      (err: unknown) =>
        err instanceof CriError && err.code === "InvalidArgument" &&
        err.message.includes(`${F}.seccomp_profile_path "${bad}"`),
      bad,
    );
  }
});

Deno.test("apparmorChoice() reads the field, else the deprecated apparmor_profile; none asked is undefined", () => {
  assert.equal(apparmorChoice({ apparmorProfile: "" }, F), undefined);
  assert.deepEqual(apparmorChoice({ apparmorProfile: "runtime/default" }, F), { kind: "default" });
  assert.deepEqual(apparmorChoice({ apparmorProfile: "unconfined" }, F), { kind: "unconfined" });
  assert.deepEqual(apparmorChoice({ apparmorProfile: "localhost/k8s-deny" }, F), {
    kind: "localhost",
    ref: "k8s-deny",
  });
  assert.deepEqual(
    apparmorChoice({ apparmor: profile(SecurityProfile_ProfileType.Localhost, "x"), apparmorProfile: "unconfined" }, F),
    { kind: "localhost", ref: "x" },
  );
  assert.throws(
    () => apparmorChoice({ apparmorProfile: "k8s-deny" }, F),
    (err: unknown) =>
      err instanceof CriError && err.code === "InvalidArgument" && err.message.includes("apparmor_profile"),
  );
});
