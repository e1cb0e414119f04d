/**
 * A day of orders from three stores, as a point-of-sale export would send them: what `npm run dev` loads
 * until ORDERS_SOURCE_URL points at a real feed. Its first ten lines hold one of each kind of problem the
 * pipeline handles (a refund naming no original order, an amount with three decimals, a `test` store's
 * order, a line sent twice); the rest is an ordinary day, refunds naming a sale of their own store, so
 * that the two lines rejected stay under the 5 % the orders checks allow (2 of 42).
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
berlin,1004,sale,24.90,EUR,,2026-11-28T11:20:00Z
berlin,1005,sale,3.20,EUR,,2026-11-28T11:48:00Z
berlin,1006,sale,12.00,EUR,,2026-11-28T12:14:00Z
berlin,1007,sale,8.75,EUR,,2026-11-28T12:39:00Z
berlin,1008,sale,45.00,EUR,,2026-11-28T13:05:00Z
berlin,1009,sale,6.40,EUR,,2026-11-28T13:31:00Z
berlin,1010,refund,8.75,EUR,1007,2026-11-28T14:02:00Z
berlin,1011,sale,17.30,EUR,,2026-11-28T14:55:00Z
berlin,1012,sale,2.10,EUR,,2026-11-28T15:36:00Z
berlin,1013,sale,31.00,EUR,,2026-11-28T16:48:00Z
berlin,1014,sale,9.99,EUR,,2026-11-28T17:25:00Z
hamburg,1004,sale,15.80,EUR,,2026-11-28T13:24:00Z
hamburg,1005,sale,7.00,EUR,,2026-11-28T13:51:00Z
hamburg,1006,sale,22.40,EUR,,2026-11-28T14:18:00Z
hamburg,1007,refund,12.00,EUR,1001,2026-11-28T14:40:00Z
hamburg,1008,sale,4.50,EUR,,2026-11-28T15:02:00Z
hamburg,1009,sale,38.00,EUR,,2026-11-28T15:37:00Z
hamburg,1010,sale,11.25,EUR,,2026-11-28T16:09:00Z
hamburg,1011,sale,6.80,EUR,,2026-11-28T16:44:00Z
hamburg,1012,sale,19.00,EUR,,2026-11-28T17:13:00Z
hamburg,1013,sale,27.60,EUR,,2026-11-28T17:58:00Z
hamburg,1014,sale,5.00,EUR,,2026-11-28T18:30:00Z
munich,2003,sale,18.90,EUR,,2026-11-28T14:25:00Z
munich,2004,sale,4.20,EUR,,2026-11-28T14:58:00Z
munich,2005,sale,56.00,EUR,,2026-11-28T15:20:00Z
munich,2006,refund,7.25,EUR,2001,2026-11-28T15:44:00Z
munich,2007,sale,9.60,EUR,,2026-11-28T16:15:00Z
munich,2008,sale,23.10,EUR,,2026-11-28T16:52:00Z
munich,2009,sale,3.80,EUR,,2026-11-28T17:30:00Z
munich,2010,sale,14.00,EUR,,2026-11-28T18:05:00Z
munich,2011,sale,41.50,EUR,,2026-11-28T18:47:00Z
munich,2012,sale,6.95,EUR,,2026-11-28T19:20:00Z
`;
