import { MAX_BODY_BYTES } from "../http/json-body";
import { ErrorResponse } from "./responses";

/** The error answers every operation shares, for the operations' `responses`. */
export const err = (description: string) => ({ description, schema: ErrorResponse });

export const WITH_BODY = {
  400: err("Invalid query, body or path (the message names every problem)."),
  403: err("With no token required: a change requested from another web origin (cross_origin_request)."),
  413: err(`Body larger than ${MAX_BODY_BYTES} bytes.`),
  415: err("Body is not application/json."),
};

export const MISCONFIGURED = { 503: err("The pipeline is misconfigured (invalid_configuration, naming the variable) or its definition is invalid (invalid_definition).") };
