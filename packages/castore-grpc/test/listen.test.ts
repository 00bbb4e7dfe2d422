// The cleartext front door: each connection goes to the HTTP/2 or the HTTP/1.1 server by its first bytes.
import { once } from "node:events";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { sniffProtocol } from "../src/server/listen.js";

describe("sniffProtocol", () => {
  it("closes a connection that sends nothing, instead of holding it for good", async () => {
    const handedOver: string[] = [];
    const h2 = new net.Server().on("connection", () => handedOver.push("h2"));
    const h1 = new net.Server().on("connection", () => handedOver.push("h1"));
    const front = net.createServer((socket) => sniffProtocol(socket, h2, h1, 50));
    front.listen(0, "127.0.0.1");
    await once(front, "listening");
    const silent = net.connect((front.address() as net.AddressInfo).port, "127.0.0.1");
    silent.on("error", () => {});
    await once(silent, "close");
    expect(handedOver).toEqual([]);
    front.close();
  });
});
