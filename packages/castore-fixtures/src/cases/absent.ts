import type { B3Digest } from "castore-core";
import { checkEqual, expectCode } from "../assertions.js";
import type { ConformanceCase } from "../capabilities.js";
import { BLOB_A, BLOB_B, DUMMY_DIGEST, EMPTY, HELLOWORLD } from "../fixtures.js";
import { put } from "../io.js";

/** Lookups of blobs that are not there, and of digests that are not digests. */
export const absentCases: ConformanceCase[] = [
  {
    id: "absent/has-is-false",
    title: "has() of an absent blob is false",
    async run({ service }) {
      checkEqual(await service.has(DUMMY_DIGEST), false, "has(DUMMY_DIGEST) on an empty store");
      checkEqual(await service.has(HELLOWORLD.digest), false, "has(HELLOWORLD) on an empty store");
      // The empty blob is not special: it is absent until someone stores it.
      checkEqual(await service.has(EMPTY.digest), false, "has(EMPTY) on an empty store");
    },
  },
  {
    id: "absent/open-read-is-undefined",
    title: "openRead() of an absent blob is undefined",
    async run({ service }) {
      checkEqual(await service.openRead(DUMMY_DIGEST), undefined, "openRead(DUMMY_DIGEST) on an empty store");
      checkEqual(await service.openRead(BLOB_B.digest), undefined, "openRead(BLOB_B) on an empty store");
      checkEqual(await service.openRead(EMPTY.digest), undefined, "openRead(EMPTY) on an empty store");
    },
  },
  {
    id: "absent/only-what-was-stored",
    title: "storing one blob does not make others present",
    async run({ service }) {
      await put(service, HELLOWORLD.data);
      checkEqual(await service.has(HELLOWORLD.digest), true, "has(HELLOWORLD) after storing it");
      checkEqual(await service.has(BLOB_A.digest), false, "has(BLOB_A) after storing only HELLOWORLD");
      checkEqual(await service.has(DUMMY_DIGEST), false, "has(DUMMY_DIGEST) after storing only HELLOWORLD");
      checkEqual(await service.openRead(BLOB_A.digest), undefined, "openRead(BLOB_A) after storing only HELLOWORLD");
    },
  },
  {
    id: "absent/wrong-length-digest",
    title: "has() and openRead() reject wrong-length digests with InvalidDigest",
    async run({ service }) {
      // JavaScript callers are not type-checked: byte arrays and strings of the wrong shape reach the service.
      const bad: unknown[] = [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), "b3:not-a-digest", "00"];
      for (const value of bad) {
        const digest = value as B3Digest;
        const shown = typeof value === "string" ? JSON.stringify(value) : `${(value as Uint8Array).length} bytes`;
        await expectCode(() => service.has(digest), "InvalidDigest", `has(${shown})`);
        await expectCode(() => service.openRead(digest), "InvalidDigest", `openRead(${shown})`);
      }
    },
  },
];
