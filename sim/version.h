/*
 * version.h - the ringside version, written into snapshots and traces and
 * printed by --version.
 */
#ifndef RS_VERSION_H
#define RS_VERSION_H

#define RINGSIDE_VERSION "0.1"

#endif
