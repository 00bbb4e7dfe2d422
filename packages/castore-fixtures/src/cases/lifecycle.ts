import { isCastoreError } from "castore-core";
import { check, checkBytes, checkEqual, expectCode } from "../assertions.js";
import { type ConformanceCase, requires } from "../capabilities.js";
import { BLOB_B, HELLOWORLD } from "../fixtures.js";
import { openPresent, put } from "../io.js";

/** Closing a service: idempotent, refuses later calls, finishes what it handed out. */
export const lifecycleCases: ConformanceCase[] = [
  {
    id: "lifecycle/close",
    title: "a closed service rejects every method with Closed; close is idempotent",
    async run({ service }) {
      await put(service, HELLOWORLD.data);
      await service.close();
      await service.close();
      await service[Symbol.asyncDispose]();
      await expectCode(() => service.has(HELLOWORLD.digest), "Closed", "has() after close()");
      await expectCode(() => service.openRead(HELLOWORLD.digest), "Closed", "openRead() after close()");
      await expectCode(() => service.openWrite(), "Closed", "openWrite() after close()");
    },
  },
  {
    id: "lifecycle/close-with-open-handles",
    title: "closing a service with open readers and writers finishes them without storing partial blobs",
    async run({ service }) {
      await put(service, HELLOWORLD.data);
      const reader = await openPresent(service, HELLOWORLD.digest);
      const writer = await service.openWrite();
      await writer.write(BLOB_B.data);
      await service.close();
      // An unfinished writer must not commit into a closed service.
      await expectCode(() => writer.close(), ["Closed", "Aborted"], "writer.close() after the service closed");
      await expectCode(
        () => writer.write(HELLOWORLD.data),
        ["Closed", "Aborted"],
        "writer.write() after the service closed",
      );
      // A reader either was closed with the service or still serves the right bytes.
      try {
        const chunk = await reader.read();
        if (chunk !== undefined)
          checkBytes(chunk, HELLOWORLD.data.subarray(0, chunk.length), "read() after the service closed");
      } catch (error) {
        check(
          isCastoreError(error, "Closed"),
          `read() after the service closed failed with ${String(error)}, not Closed`,
        );
      }
      await reader.close();
    },
  },
  {
    id: "lifecycle/releases-resources",
    title: "a closed service has released its resources",
    skipReason: requires("checkReleased"),
    async run({ service, capabilities }) {
      await put(service, BLOB_B.data);
      const reader = await openPresent(service, BLOB_B.digest);
      await reader.read();
      const writer = await service.openWrite();
      await writer.write(HELLOWORLD.data);
      await service.close();
      await capabilities.checkReleased!(service);
      checkEqual(await service.openWrite().catch(() => "refused"), "refused", "openWrite() after close()");
    },
  },
];
