/** A running gateway, or why there is none. */
export type GatewayTarget =
  | {
      readonly available: true;
      readonly endpoint: string;
      readonly bucket: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      /** The gateway's scratch directory (for stop-rgw / start-rgw). */
      readonly dir: string;
      /** Whether this process started it (and must stop it). */
      readonly owned: boolean;
    }
  | { readonly available: false; readonly reason: string };

export const GATEWAY_SCRIPT: string;
export const ACCESS_KEY_ID: string;
export const SECRET_ACCESS_KEY: string;
export function runGatewayScript(args: string[], timeoutMs?: number): Promise<string>;
export function startGateway(bucket: string): Promise<GatewayTarget>;
export function stopGateway(target: GatewayTarget): Promise<void>;
