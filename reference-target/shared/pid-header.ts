/**
 * Every health answer names the process that gave it: the launcher's start check (a port it picked may have been
 * taken meanwhile by another process, whose health answer must not pass for the service it started). A module of
 * its own, so the launcher reads the name without loading the services' HTTP framework.
 */
export const SERVICE_PID_HEADER = 'x-reference-pid';
