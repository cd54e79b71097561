/*
 * manifest: the conventions every Kubernetes object follows — apiVersion,
 * kind, metadata (name rules per kind, namespace, labels, annotations) — as
 * the API server checks them. It knows no kind's spec; those belong to the
 * rooms that define them.
 */
#ifndef IDP_MANIFEST_H
#define IDP_MANIFEST_H

#include "doc/doc.h"

/* Checks doc as a Kubernetes object and appends one error per problem to
 * errs (each with file:line:column and field path). A `kind: List` has each
 * of its items checked. Returns the number of problems appended. */
size_t idp_manifest_check(const idp_doc_node *doc, idp_errs *errs);

/* The rule metadata.name must follow for kind (as the API server applies
 * it): returns NULL when name is valid, else a static description. */
const char *idp_manifest_check_name(const char *kind, const char *name);

#endif
