import type { Context, Handler, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { optionalJsonBody } from "../http/json-body";
import { validate } from "../http/validate";

export type Method = "get" | "post" | "put" | "patch" | "delete";

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Headers the answer carries, by name, with what each says. */
  headers?: Record<string, string>;
}

/**
 * One API operation, declared once: its path and method, the schemas that validate its path, query and
 * optional JSON body, what it answers. `Resource.add` routes it with those validators, and the OpenAPI
 * document (openapi.ts) is generated from the same objects: what is routed is what is documented.
 */
export interface Operation {
  method: Method;
  /** Hono's form, `/runs/:id`. */
  path: string;
  summary: string;
  /** Answers without the API token. */
  public?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers, named in lower case (as Hono reads them); other headers pass. */
  headers?: z.ZodObject;
  /** An optional JSON body (empty means `{}`), read by optionalJsonBody. */
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : never;
type InputOf<O extends Operation> = { out: { param: Out<O["params"]>; query: Out<O["query"]>; header: Out<O["headers"]> } };
type BodyOf<O extends Operation> = O["body"] extends z.ZodType ? { body: z.output<O["body"]> } : object;
type Scope = { Bindings: Env; Variables?: object };
type WithBody<E extends Scope, O extends Operation> = { Bindings: E["Bindings"]; Variables: (E["Variables"] extends object ? E["Variables"] : object) & BodyOf<O> };

/** A sub-app whose routes are added with their operation: validated as declared, and listed for the document. */
export class Resource<E extends Scope> {
  readonly operations: Operation[] = [];

  constructor(readonly app: Hono<E>) {}

  add<const O extends Operation>(operation: O, handler: (c: Context<WithBody<E, O>, string, InputOf<O>>) => Response | Promise<Response>): this {
    this.operations.push(operation);
    const middleware: MiddlewareHandler[] = [];
    if (operation.params) middleware.push(validate("param", operation.params) as MiddlewareHandler);
    if (operation.query) middleware.push(validate("query", operation.query) as MiddlewareHandler);
    if (operation.headers) middleware.push(validate("header", operation.headers) as MiddlewareHandler);
    if (operation.body) middleware.push(optionalJsonBody(operation.body) as unknown as MiddlewareHandler);
    // The handler's types come from the operation (above); Hono's own overloads cannot see through the spread.
    (this.app as unknown as { on(method: string, path: string, ...handlers: Handler[]): unknown }).on(operation.method.toUpperCase(), operation.path, ...middleware, handler as unknown as Handler);
    return this;
  }
}
