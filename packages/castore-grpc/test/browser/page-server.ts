// Serves a built page on its own origin (127.0.0.1 on a free port, not the blob server's), plus the
// endpoints the throughput comparison fetches: `/bytes/N` (N bytes) and `/sink` (a POST body, discarded).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { BuiltPage } from "./bundle.js";

export interface PageServer {
  /** The page's origin, e.g. http://127.0.0.1:40123. */
  origin: string;
  close(): Promise<void>;
}

export async function servePage(page: BuiltPage): Promise<PageServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0] as string;
    if (path === "/" || path === "/index.html") {
      response.setHeader("content-type", "text/html");
      response.end(page.html);
      return;
    }
    const file = page.files.get(path.slice(1));
    if (file) {
      response.setHeader("content-type", "text/javascript");
      response.end(file);
      return;
    }
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    if (bytes) {
      response.setHeader("content-type", "application/octet-stream");
      response.end(new Uint8Array(Number(bytes[1])));
      return;
    }
    if (path === "/sink" && request.method === "POST") {
      request.resume();
      request.on("end", () => response.end("ok"));
      return;
    }
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
