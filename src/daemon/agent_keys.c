/* The realtime platforms' agent keys, turned into each realtime
 * namespace's Secret at every sync (the daemon's part of api.h's "agent
 * keys"). */
#include "api/api.h"
#include "daemon/daemon_private.h"

#include <sodium.h>
#include <string.h>

/* The realtime platforms' agent keys (api.h, "agent keys"): for each
 * Namespace of the application labelled part-of realtime-platform whose key
 * is stored, Secret lenses-credentials with AGENT_KEY. The value never
 * enters git or an object: the Secret asks for it through the generate
 * annotation, and the key is placed where generated values are kept; an
 * annotation carrying a digest of the value changes with it, so that a
 * consumer restarts only when the key really changed (the original
 * restarted every agent every two minutes). */
void daemon_inject_agent_keys(idp_store *store, const char *app_name, idp_arena *a, idp_doc_node ***objs, size_t *n)
{
	size_t count = *n;
	for (size_t i = 0; i < count; i++) {
		const idp_doc_node *o = (*objs)[i];
		const char *kind = idp_doc_map_get_str(o, "kind"), *api = idp_doc_map_get_str(o, "apiVersion");
		const idp_doc_node *meta = idp_doc_map_get(o, "metadata");
		const char *ns = idp_doc_map_get_str(meta, "name");
		const char *part = idp_doc_map_get_str(idp_doc_map_get(meta, "labels"), "app.kubernetes.io/part-of");
		if (!kind || strcmp(kind, "Namespace") != 0 || !api || strcmp(api, "v1") != 0 || !ns || !part ||
		    strcmp(part, "realtime-platform") != 0)
			continue;
		idp_buf key = IDP_BUF_INIT;
		if (idp_store_secret_get(store, IDP_API_AGENT_KEYS_APP, IDP_API_AGENT_KEYS_SCOPE, ns, &key, NULL) != 0) {
			idp_buf_free(&key);
			continue;
		}
		const char *scope = idp_arena_printf(a, "%s/lenses-credentials", ns);
		idp_buf now = IDP_BUF_INIT;
		bool same = idp_store_secret_get(store, app_name, scope, "AGENT_KEY", &now, NULL) == 0 && now.len == key.len &&
			    memcmp(now.ptr, key.ptr, key.len) == 0;
		if (!same)
			idp_store_secret_put(store, app_name, scope, "AGENT_KEY", key.ptr, key.len, NULL);
		unsigned char h[8];
		crypto_generichash(h, sizeof h, (const unsigned char *)key.ptr, key.len, NULL, 0);
		char hex[17];
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		sodium_memzero(key.ptr, key.len);
		if (now.ptr)
			sodium_memzero(now.ptr, now.len);
		idp_buf_free(&key);
		idp_buf_free(&now);
		idp_doc_node *sec = idp_doc_new_map(a), *m = idp_doc_new_map(a), *labels = idp_doc_new_map(a),
			     *ann = idp_doc_new_map(a);
		idp_doc_map_set(a, sec, "apiVersion", idp_doc_new_str(a, "v1"));
		idp_doc_map_set(a, sec, "kind", idp_doc_new_str(a, "Secret"));
		idp_doc_map_set(a, m, "name", idp_doc_new_str(a, "lenses-credentials"));
		idp_doc_map_set(a, m, "namespace", idp_doc_new_str(a, ns));
		idp_doc_map_set(a, labels, "app.kubernetes.io/part-of", idp_doc_new_str(a, "realtime-platform"));
		idp_doc_map_set(a, labels, "app.kubernetes.io/managed-by", idp_doc_new_str(a, "idp"));
		idp_doc_map_set(a, m, "labels", labels);
		idp_doc_map_set(a, ann, "platform.example.org/generate", idp_doc_new_str(a, "AGENT_KEY"));
		idp_doc_map_set(a, ann, "platform.example.org/agent-key-digest", idp_doc_new_str(a, hex));
		idp_doc_map_set(a, m, "annotations", ann);
		idp_doc_map_set(a, sec, "metadata", m);
		idp_doc_map_set(a, sec, "type", idp_doc_new_str(a, "Opaque"));
		/* A self-heal starts from what the last sync applied: replaced, not doubled. */
		size_t k = 0;
		for (; k < *n; k++) {
			const idp_doc_node *y = (*objs)[k];
			const idp_doc_node *ym = idp_doc_map_get(y, "metadata");
			const char *yk = idp_doc_map_get_str(y, "kind"), *yn = idp_doc_map_get_str(ym, "name"),
				   *yns = idp_doc_map_get_str(ym, "namespace");
			if (yk && yn && yns && strcmp(yk, "Secret") == 0 && strcmp(yn, "lenses-credentials") == 0 &&
			    strcmp(yns, ns) == 0)
				break;
		}
		if (k == *n) {
			*objs = idp_arena_grow(a, *objs, *n, &(size_t){*n}, sizeof(**objs));
			(*n)++;
		}
		(*objs)[k] = sec;
	}
}
