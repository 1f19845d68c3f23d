/*
 * cmd_migrate.h - `ringside migrate`: live migration between two hosts in
 * one process (docs/migration.md).
 */
#ifndef RS_CMD_MIGRATE_H
#define RS_CMD_MIGRATE_H

int cmd_migrate(int argc, char **argv);

#endif
