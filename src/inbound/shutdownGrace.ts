/**
 * At shutdown, sessions in DATA and deliveries in flight get this long to finish. Its own
 * file: the systemd unit's stop timeout is checked against it by a test that should not
 * load the listeners.
 */
export const SHUTDOWN_GRACE_MS = 30_000;
