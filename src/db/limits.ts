/** D1 binds at most this many parameters in one statement. */
export const MAX_PARAMS = 100;
