/**
 * A day of orders from three stores, as a point-of-sale export would send them: what `npm run dev` loads
 * until ORDERS_SOURCE_URL points at a real feed. It holds one of each kind of problem the pipeline handles.
 */
export const ORDERS_SAMPLE_CSV = `store_id,order_id,kind,amount,currency,original_order_id,ordered_at
berlin,1001,sale,19.99,EUR,,2026-11-28T09:15:00Z
berlin,1002,sale,5.50,EUR,,2026-11-28T09:40:00Z
berlin,1003,refund,19.99,EUR,1001,2026-11-28T11:02:00Z
hamburg,1001,sale,42.00,EUR,,2026-11-28T10:05:00Z
hamburg,1002,refund,12.00,EUR,,2026-11-28T12:30:00Z
hamburg,1003,sale,12.345,EUR,,2026-11-28T13:00:00Z
munich,2001,sale,7.25,EUR,,2026-11-28T14:10:00Z
munich,2002,sale,1250,EUR,,2026-11-28T14:12:00+01:00
test,9001,sale,1.00,EUR,,2026-11-28T08:00:00Z
berlin,1002,sale,5.50,EUR,,2026-11-28T09:41:00Z
`;
