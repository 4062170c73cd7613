// Exit statuses of `tlsrelay queue` beside 0, 2 (invalid config) and 64 (usage, a malformed ID).

/** Not done: no such message in the queue (never was, or left it meanwhile), a damaged one, or a retry of a held one. */
export const EXIT_NOT_DONE = 1;
/** Another process kept the message claimed (a long delivery): try again (sysexits EX_TEMPFAIL). */
export const EXIT_BUSY = 75;
