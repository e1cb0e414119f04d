import { z } from "zod";
import { definePipeline } from "../../engine/define-pipeline";
import { reject } from "../../engine/outcomes";

/** A customer as the application's PostgreSQL table has it (docs/examples/postgres/customers.sql). */
const Customer = z.object({
  id: z.number().int(),
  name: z.string(),
  email: z.string(),
  country: z.string().nullable(),
  marketing_opt_in: z.boolean(),
  updated_at: z.string(),
});

/**
 * Customers copied from the application's PostgreSQL database (through the HYPERDRIVE binding) into the
 * D1 table `customers`, every 15 minutes: only the rows changed since the last successful run (the
 * watermark is the newest `updated_at` loaded), read in pages of 5,000 by `id` in one snapshot. An email
 * is kept lower-cased; a customer without one is rejected, with the reason, rather than loaded half.
 */
export default definePipeline({
  name: "customers",
  description: "Customers changed in PostgreSQL, copied into D1 every 15 minutes",
  schedule: { cron: "*/15 * * * *" },
  sources: [
    {
      type: "postgres",
      hyperdrive: "HYPERDRIVE",
      query: "SELECT id, name, email, country, marketing_opt_in, updated_at FROM customers WHERE updated_at > coalesce($1::timestamptz, '-infinity')",
      params: ["watermark"],
      cursor: ["id"],
    },
  ],
  record: Customer,
  recordId: (raw) => (typeof (raw as { id?: unknown } | null)?.id === "number" ? String((raw as { id: number }).id) : null),
  transform: (customer) => {
    const email = customer.email.trim().toLowerCase();
    if (!email.includes("@")) return reject(`customer ${customer.id} has no usable email (${JSON.stringify(customer.email)})`);
    return { customer_id: customer.id, name: customer.name, email, country: customer.country, marketing_opt_in: customer.marketing_opt_in, updated_at: customer.updated_at };
  },
  destination: {
    table: "customers",
    key: ["customer_id"],
    columns: { customer_id: "integer", name: "text", email: "text", country: { type: "text", nullable: true }, marketing_opt_in: "boolean", updated_at: "timestamp" },
  },
  watermark: { column: "updated_at" },
});
