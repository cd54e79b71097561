/* What the store room's files share. */
#ifndef IDP_STORE_PRIVATE_H
#define IDP_STORE_PRIVATE_H

#include <sqlite3.h>

#include "base/base.h"

/* Applies, each in its own transaction, the migrations newer than the
 * database's schema version (store/migrations.c). */
int store_migrate(sqlite3 *db, idp_err *err);
/* The highest migration applied (0 for a new database). */
int store_schema_version(sqlite3 *db);

#endif
