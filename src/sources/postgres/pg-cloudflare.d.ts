/**
 * pg-cloudflare's types are only published behind its "workerd" export condition (its default export is
 * an empty module for Node), which the type checker does not resolve: the part of its socket used here.
 */
declare module "pg-cloudflare" {
  import { EventEmitter } from "node:events";

  export class CloudflareSocket extends EventEmitter {
    constructor(ssl: boolean);
    end(data?: Uint8Array, encoding?: BufferEncoding, callback?: (...args: unknown[]) => void): this;
    _listen(): Promise<void>;
  }
}
