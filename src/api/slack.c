/* Slack: request signatures, the form of slash commands, the text parser
 * of `/microservice create`, the commands (/microservice, /appcontainer,
 * /vcluster), events, and Block Kit replies. The original verified a
 * request only when it carried both headers, and answered "coming soon" to
 * list, status and delete; here every request is verified and every
 * command does what it says. */
#include "api/api.h"
#include "api/api_private.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define WINDOW_S 300

/* ---------------------------------------------------------------- signatures */

int idp_api_slack_verify(const char *secret, const char *timestamp, const char *signature, const char *body,
			 size_t len, int64_t now, const char **why)
{
	if (!timestamp || !signature)
		return *why = "missing X-Slack-Request-Timestamp or X-Slack-Signature", IDP_EINPUT;
	char *end;
	long long ts = strtoll(timestamp, &end, 10);
	if (!*timestamp || *end || ts <= 0)
		return *why = "X-Slack-Request-Timestamp is not a number", IDP_EINPUT;
	if (llabs(now - ts) > WINDOW_S)
		return *why = "the request's timestamp is more than 5 minutes away from now", IDP_EINPUT;
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"v0:", 3);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	char want[3 + 2 * sizeof mac + 1] = "v0=";
	sodium_bin2hex(want + 3, sizeof want - 3, mac, sizeof mac);
	size_t n = strlen(want);
	/* Same length first (that says nothing of the secret), then in constant time. */
	if (strlen(signature) != n || sodium_memcmp(want, signature, n) != 0)
		return *why = "the request signature is not valid", IDP_EINPUT;
	return 0;
}

/* ---------------------------------------------------------------- forms */

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *idp_api_form_get(idp_arena *a, const char *body, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < len;) {
		const char *p = body + i, *amp = memchr(p, '&', len - i);
		size_t fl = amp ? (size_t)(amp - p) : len - i;
		if (fl > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			char *out = idp_arena_alloc(a, fl - nl);
			size_t k = 0;
			for (size_t j = nl + 1; j < fl; j++) {
				if (p[j] == '+')
					out[k++] = ' ';
				else if (p[j] == '%' && j + 2 < fl && hexval(p[j + 1]) >= 0 && hexval(p[j + 2]) >= 0)
					out[k++] = (char)(hexval(p[j + 1]) * 16 + hexval(p[j + 2])), j += 2;
				else
					out[k++] = p[j];
			}
			out[k] = 0;
			return out;
		}
		i += fl + 1;
	}
	return NULL;
}

/* ---------------------------------------------------------------- the text parser */

typedef struct words {
	char **w;
	size_t n;
} words;

/* Lower-cased words; a "quoted phrase" is one word (quotes dropped). */
static words split(idp_arena *a, const char *text)
{
	/* A word takes a byte and a separator at least; an empty quoted one two. */
	words ws = {idp_arena_alloc(a, (strlen(text) + 2) * sizeof(char *)), 0};
	for (const char *p = text; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *start = p, *end;
		bool curly = strncmp(p, "\xe2\x80\x9c", 3) == 0; /* “…” as Slack's clients type them */
		if (*p == '"' || *p == '\'' || curly) {
			const char *close = curly ? "\xe2\x80\x9d" : *p == '"' ? "\"" : "'";
			size_t skip = curly ? 3 : 1;
			const char *q = strstr(p + skip, close);
			start = p + skip;
			end = q ? q : p + strlen(p);
			p = q ? q + strlen(close) : end;
		} else {
			while (*p && !isspace((unsigned char)*p))
				p++;
			end = p;
		}
		char *w = idp_arena_strndup(a, start, (size_t)(end - start));
		for (char *c = w; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		ws.w[ws.n++] = w;
	}
	return ws;
}

static bool is(const char *w, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(w, *set) == 0)
			return true;
	return false;
}

static const char *const languages[] = {"python", "fastapi", "java", "springboot", "spring", "nodejs", "node",
					"express", "go", "golang", "gin", "c", "idp-sdk", NULL};
/* Words that introduce an option (never a name). */
static const char *const keywords[] = {"with", "without", "in", "namespace", "ns", "database", "db", "postgres",
				       "postgresql", "cache", "redis", "realtime", "streaming", "stream", "iot",
				       "mqtt", "platform", "app", "appcontainer", "repo", "repository", "container",
				       "description", "desc", "no-database", "no-cache", "named", "called", "name",
				       "and", "using", "language", "create", "true", "yes", "microservice", "service", NULL};

static bool plain_name(const char *w)
{
	return idp_name_check_dns1123_label(w) == NULL && !is(w, languages) && !is(w, keywords);
}

/* The word after position i when it can be a value. */
static const char *value_after(const words *ws, size_t i)
{
	return i + 1 < ws->n && plain_name(ws->w[i + 1]) ? ws->w[i + 1] : NULL;
}

static void set_language(idp_api_service_request *r, const char *w)
{
	static const char *const map[][3] = {
		{"python", "python", "fastapi"},  {"fastapi", "python", "fastapi"},  {"java", "java", "springboot"},
		{"springboot", "java", "springboot"}, {"spring", "java", "springboot"}, {"nodejs", "nodejs", "express"},
		{"node", "nodejs", "express"},    {"express", "nodejs", "express"},  {"go", "go", "gin"},
		{"golang", "go", "gin"},          {"gin", "go", "gin"},              {"c", "c", "idp-sdk"},
		{"idp-sdk", "c", "idp-sdk"}};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(w, map[i][0]) == 0) {
			r->language = map[i][1];
			r->framework = map[i][2];
		}
}

int idp_api_parse_service(idp_arena *a, const char *text, idp_api_service_request *r, idp_err *err)
{
	memset(r, 0, sizeof(*r));
	r->ns = "default";
	r->language = "python";
	r->framework = "fastapi";
	r->database = "none";
	r->cache = "none";
	if (!idp_utf8_valid(text, strlen(text), NULL))
		return idp_err_set(err, IDP_EINPUT, "the text is not valid UTF-8");
	words ws = split(a, text);
	size_t i = 0;
	if (ws.n && strcmp(ws.w[0], "create") == 0)
		i = 1;
	size_t first = i;
	for (; i < ws.n; i++) {
		const char *w = ws.w[i], *next = i + 1 < ws.n ? ws.w[i + 1] : "";
		const char *v = value_after(&ws, i);
		if ((strcmp(w, "called") == 0 || strcmp(w, "named") == 0 || strcmp(w, "name") == 0) && v) {
			r->name = v, i++;
		} else if ((strcmp(w, "namespace") == 0 || strcmp(w, "ns") == 0) && v) {
			r->ns = v, i++;
		} else if ((strcmp(w, "app") == 0 || strcmp(w, "appcontainer") == 0 || strcmp(w, "repo") == 0 ||
			    strcmp(w, "repository") == 0 || strcmp(w, "container") == 0) &&
			   v) {
			r->app_container = v, i++;
		} else if ((strcmp(w, "realtime") == 0 || strcmp(w, "streaming") == 0 || strcmp(w, "stream") == 0 ||
			    strcmp(w, "platform") == 0 || strcmp(w, "mqtt") == 0) &&
			   v) {
			r->realtime = v, i++;
		} else if (strcmp(w, "iot") == 0) {
			r->iot = true; /* a flag: "iot", "iot true" */
			if (strcmp(next, "true") == 0 || strcmp(next, "yes") == 0)
				i++;
		} else if ((strcmp(w, "description") == 0 || strcmp(w, "desc") == 0) && i + 1 < ws.n) {
			r->description = ws.w[++i];
		} else if (strcmp(w, "without") == 0 || strcmp(w, "no") == 0) {
			if (strcmp(next, "database") == 0 || strcmp(next, "db") == 0 || strcmp(next, "postgres") == 0)
				r->database = "none", i++;
			else if (strcmp(next, "cache") == 0 || strcmp(next, "redis") == 0)
				r->cache = "none", i++;
		} else if (strcmp(w, "no-database") == 0 || strcmp(w, "no-db") == 0) {
			r->database = "none";
		} else if (strcmp(w, "no-cache") == 0) {
			r->cache = "none";
		} else if (strcmp(w, "postgres") == 0 || strcmp(w, "postgresql") == 0 ||
			   ((strcmp(w, "database") == 0 || strcmp(w, "db") == 0) && i > 0 && strcmp(ws.w[i - 1], "with") == 0)) {
			r->database = "postgres";
		} else if (strcmp(w, "redis") == 0 || (strcmp(w, "cache") == 0 && i > 0 && strcmp(ws.w[i - 1], "with") == 0)) {
			r->cache = "redis";
		} else if (is(w, languages)) {
			set_language(r, w);
		} else if (!r->name && plain_name(w) && (i == first || (i > 0 && (strcmp(ws.w[i - 1], "microservice") == 0 ||
									       strcmp(ws.w[i - 1], "service") == 0)))) {
			r->name = w; /* create NAME, (micro)service NAME */
		} else if ((strcmp(w, "microservice") == 0 || strcmp(w, "service") == 0) && v && !r->name) {
			r->name = v, i++;
		}
	}
	if (!r->name)
		return idp_err_set(err, IDP_EINPUT,
				   "which name? e.g. /microservice create order-service python with database (a "
				   "lower-case name: letters, digits and '-')");
	if (strlen(r->name) > 39)
		return idp_err_set(err, IDP_EINPUT, "the name %s is longer than 39 characters", r->name);
	if (r->iot && !r->realtime)
		r->realtime = idp_arena_printf(a, "%s-realtime", r->name);
	return 0;
}

/* The ApplicationClaim a request stands for. */
idp_doc_node *idp_api_service_claim(idp_arena *a, const idp_api_service_request *r)
{
	idp_doc_node *c = idp_doc_new_map(a), *meta = idp_doc_new_map(a), *spec = idp_doc_new_map(a);
	idp_doc_map_set(a, c, "apiVersion", idp_doc_new_str(a, "platform.example.org/v1alpha1"));
	idp_doc_map_set(a, c, "kind", idp_doc_new_str(a, "ApplicationClaim"));
	idp_doc_map_set(a, meta, "name", idp_doc_new_str(a, r->name));
	idp_doc_node *ann = idp_doc_new_map(a);
	idp_doc_map_set(a, ann, "webservice.oam.dev/source", idp_doc_new_str(a, "api-driven"));
	if (r->description)
		idp_doc_map_set(a, ann, "description", idp_doc_new_str(a, r->description));
	idp_doc_map_set(a, meta, "annotations", ann);
	idp_doc_map_set(a, c, "metadata", meta);
	idp_doc_map_set(a, spec, "name", idp_doc_new_str(a, r->name));
	if (r->ns && strcmp(r->ns, "default") != 0)
		idp_doc_map_set(a, spec, "namespace", idp_doc_new_str(a, r->ns));
	idp_doc_map_set(a, spec, "language", idp_doc_new_str(a, r->language));
	idp_doc_map_set(a, spec, "framework", idp_doc_new_str(a, r->framework));
	idp_doc_map_set(a, spec, "database", idp_doc_new_str(a, r->database));
	idp_doc_map_set(a, spec, "cache", idp_doc_new_str(a, r->cache));
	if (r->app_container)
		idp_doc_map_set(a, spec, "appContainer", idp_doc_new_str(a, r->app_container));
	if (r->realtime)
		idp_doc_map_set(a, spec, "realtime", idp_doc_new_str(a, r->realtime));
	idp_doc_map_set(a, c, "spec", spec);
	return c;
}

/* ---------------------------------------------------------------- Block Kit */

static idp_doc_node *text_obj(idp_arena *a, const char *type, const char *text)
{
	idp_doc_node *t = idp_doc_new_map(a);
	idp_doc_map_set(a, t, "type", idp_doc_new_str(a, type));
	idp_doc_map_set(a, t, "text", idp_doc_new_str(a, text));
	return t;
}

static idp_doc_node *block(idp_arena *a, const char *type, const char *text)
{
	idp_doc_node *b = idp_doc_new_map(a);
	idp_doc_map_set(a, b, "type", idp_doc_new_str(a, type));
	idp_doc_map_set(a, b, "text", text_obj(a, strcmp(type, "header") == 0 ? "plain_text" : "mrkdwn", text));
	return b;
}

static idp_doc_node *message(idp_arena *a, bool in_channel, const char *text)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "response_type", idp_doc_new_str(a, in_channel ? "in_channel" : "ephemeral"));
	idp_doc_map_set(a, m, "text", idp_doc_new_str(a, text));
	idp_doc_map_set(a, m, "blocks", idp_doc_new_seq(a));
	return m;
}

static void add_block(idp_arena *a, idp_doc_node *m, idp_doc_node *b)
{
	idp_doc_seq_push(a, idp_doc_map_get(m, "blocks"), b);
}

static idp_doc_node *fields(idp_arena *a, const char *const *pairs, size_t n)
{
	idp_doc_node *b = idp_doc_new_map(a), *fs = idp_doc_new_seq(a);
	idp_doc_map_set(a, b, "type", idp_doc_new_str(a, "section"));
	for (size_t i = 0; i + 1 < n; i += 2)
		if (pairs[i + 1])
			idp_doc_seq_push(a, fs, text_obj(a, "mrkdwn", idp_arena_printf(a, "*%s:*\n%s", pairs[i], pairs[i + 1])));
	idp_doc_map_set(a, b, "fields", fs);
	return b;
}

/* The original's error shape: ephemeral, with ❌. */
static idp_doc_node *fail_msg(idp_arena *a, const char *why)
{
	idp_doc_node *m = idp_doc_new_map(a);
	idp_doc_map_set(a, m, "response_type", idp_doc_new_str(a, "ephemeral"));
	idp_doc_map_set(a, m, "text", idp_doc_new_str(a, idp_arena_printf(a, "❌ %s", why)));
	return m;
}

static idp_doc_node *err_msg(idp_arena *a, const idp_err *err)
{
	idp_buf b = IDP_BUF_INIT;
	idp_err_format(err, &b);
	idp_doc_node *m = fail_msg(a, idp_arena_strdup(a, b.ptr ? b.ptr : "failed"));
	idp_buf_free(&b);
	return m;
}

/* ---------------------------------------------------------------- helpers on repositories */

static const idp_gitops_identity slack_who = {"idp slack", "idp@localhost"};

/* Removes component name from container's OAM Application (and its claim
 * from claims/): two commits, the manifests rendered again with the second;
 * *removed false when it was not there. */
static int remove_component(const idp_api_workflow_env *env, idp_arena *a, const char *container, const char *name,
			    bool *removed, idp_err *err)
{
	*removed = false;
	idp_gitops_repo *r;
	int rc = idp_gitops_open(idp_api_container_repo(a, env, container), 10000, 0, &r, err);
	if (rc)
		return rc == IDP_ENOTFOUND ? idp_err_set(err, IDP_ENOTFOUND, "no application container %s", container) : rc;
	idp_buf text = IDP_BUF_INIT;
	idp_doc_stream s;
	rc = idp_gitops_read(r, "HEAD", IDP_GITOPS_OAM_FILE, &text, err);
	if (rc == 0)
		rc = idp_doc_load(a, IDP_GITOPS_OAM_FILE, text.ptr ? text.ptr : "", text.len, NULL, &s, err);
	idp_doc_node *comps = NULL;
	if (rc == 0 && s.len == 1 && idp_doc_path_get(s.docs[0], "spec.components", &comps, NULL) == 0 &&
	    comps->kind == IDP_DOC_SEQ) {
		size_t kept = 0;
		for (size_t i = 0; i < comps->as.seq.len; i++) {
			const char *cn = idp_doc_map_get_str(comps->as.seq.items[i], "name");
			if (cn && strcmp(cn, name) == 0)
				*removed = true;
			else
				comps->as.seq.items[kept++] = comps->as.seq.items[i];
		}
		comps->as.seq.len = kept;
	}
	if (rc == 0 && *removed) {
		idp_gitops_change change = {0};
		change.summary = idp_arena_printf(a, "remove the claim of %s", name);
		const char *trailers[] = {"Idp-Source: slack", NULL};
		change.trailers = trailers;
		idp_gitops_files_delete(a, &change.files, idp_arena_printf(a, "claims/%s.yaml", name));
		idp_gitops_commit_result res;
		rc = idp_gitops_commit(r, &change, &slack_who, a, &res, err);
		idp_buf out = IDP_BUF_INIT;
		if (rc == 0)
			rc = idp_doc_emit_yaml(&s.docs[0], 1, &out, err);
		if (rc == 0)
			rc = idp_gitops_set_application(r, a, out.ptr, out.len, "slack", env->renderer, &slack_who, &res, err);
		idp_buf_free(&out);
	}
	idp_buf_free(&text);
	idp_gitops_close(r);
	return rc;
}

/* The container's application synced to its repository's head. */
static int sync_container(const idp_api_workflow_env *env, idp_arena *a, const char *container, bool deleting,
			  idp_err *err)
{
	idp_doc_node *req = idp_doc_new_map(a), *reply;
	if (deleting) /* what was asked to go may be most of what runs */
		idp_doc_map_set(a, req, "allow_mass_prune", idp_doc_new_bool(a, true));
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "adopt"));
	idp_doc_map_set(a, req, "app", idp_doc_new_str(a, container));
	idp_doc_map_set(a, req, "repo", idp_doc_new_str(a, idp_api_container_repo(a, env, container)));
	idp_doc_map_set(a, req, "base_dir", idp_doc_new_str(a, idp_arena_printf(a, "%s/repos/%s", env->state_dir, container)));
	return env->daemon->call(env->daemon->ctx, a, req, &reply, err);
}

/* The daemon's status of one application, or NULL. */
static const idp_doc_node *app_status(const idp_api_workflow_env *env, idp_arena *a, const char *app)
{
	idp_doc_node *req = idp_doc_new_map(a), *reply;
	idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "status"));
	idp_doc_map_set(a, req, "app", idp_doc_new_str(a, app));
	idp_err err = IDP_ERR_INIT;
	int rc = env->daemon->call(env->daemon->ctx, a, req, &reply, &err);
	idp_err_clear(&err);
	const idp_doc_node *apps = rc == 0 ? idp_doc_map_get(reply, "apps") : NULL;
	return apps && apps->kind == IDP_DOC_SEQ && apps->as.seq.len == 1 ? apps->as.seq.items[0] : NULL;
}

static const char *component_health(const idp_doc_node *app, const char *component)
{
	const idp_doc_node *comps = idp_doc_map_get(app, "components");
	for (size_t i = 0; comps && comps->kind == IDP_DOC_SEQ && i < comps->as.seq.len; i++) {
		const char *n = idp_doc_map_get_str(comps->as.seq.items[i], "name");
		if (n && strcmp(n, component) == 0)
			return idp_doc_map_get_str(comps->as.seq.items[i], "health");
	}
	return NULL;
}

static const char *state_icon(const char *state)
{
	return strcmp(state, "Succeeded") == 0 ? "✅" : strcmp(state, "Failed") == 0 ? "❌" : "⏳";
}

/* ---------------------------------------------------------------- /microservice */

/* A command's help: the original's title, then what it does. */
static idp_doc_node *help_msg(idp_arena *a, const char *title, const char *text)
{
	idp_doc_node *m = message(a, false, title);
	add_block(a, m, block(a, "header", title));
	add_block(a, m, block(a, "section", text));
	return m;
}

static idp_doc_node *microservice_help(idp_arena *a)
{
	return help_msg(a, "🤖 Microservice Management Commands",
			      "`/microservice create NAME [python|c|java|nodejs|go] [with database] [with redis] "
			      "[in namespace NS] [app CONTAINER] [realtime PLATFORM | iot]` — scaffold, deploy and run a "
			      "service\n`/microservice list` — the services asked for\n`/microservice status NAME` — "
			      "its workflow and health\n`/microservice delete NAME` — remove it from its application\n"
			      "`/microservice help` — this text");
}

static idp_doc_node *microservice_create(api_req *q, const char *text, const char *user)
{
	idp_arena *a = q->a;
	idp_api_service_request r;
	idp_err err = IDP_ERR_INIT;
	int64_t id;
	bool existing;
	idp_doc_node *out;
	if (idp_api_parse_service(a, text, &r, &err) != 0 ||
	    idp_api_workflow_start(api_workflow_env(q->api), a, idp_api_service_claim(a, &r), "slack", &id, &existing,
				   &err) != 0) {
		out = err_msg(a, &err);
		idp_err_clear(&err);
		return out;
	}
	api_workflows_kick(q->api);
	const char *container = r.app_container ? r.app_container : "health-service-idp";
	out = message(a, true, idp_arena_printf(a, "🚀 Microservice `%s` creation %s", r.name,
						  existing ? "is under way already" : "started"));
	add_block(a, out, block(a, "header", "🚀 Microservice Creation Started"));
	const char *pairs[] = {"Name",	  r.name,      "Namespace", r.ns, "Language", idp_arena_printf(a, "%s (%s)", r.language, r.framework),
			       "Database", r.database, "Cache",     r.cache, "Realtime", r.realtime, "Requested by", user};
	add_block(a, out, fields(a, pairs, sizeof pairs / sizeof *pairs));
	add_block(a, out, block(a, "section",
				idp_arena_printf(a, "*Will create* (once)\n• source repository `%s`\n• GitOps repository "
						    "`%s-gitops`\n• component `%s` in application `%s`\nworkflow %lld",
						 container, container, r.name, container, (long long)id)));
	return out;
}

static idp_doc_node *microservice_list(api_req *q)
{
	idp_arena *a = q->a;
	idp_store_workflow *ws;
	size_t n = 0;
	idp_err err = IDP_ERR_INIT;
	if (idp_store_workflow_list(q->cfg->store, a, NULL, 500, &ws, &n, &err) != 0) {
		idp_doc_node *m = err_msg(a, &err);
		idp_err_clear(&err);
		return m;
	}
	idp_buf b = IDP_BUF_INIT;
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) { /* the newest workflow of each name */
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(ws[k].name, ws[i].name) == 0;
		if (seen)
			continue;
		idp_buf_printf(&b, "%s `%s` in `%s`: %s\n", state_icon(ws[i].state), ws[i].name, ws[i].app, ws[i].state);
		shown++;
	}
	idp_doc_node *m = message(a, false, idp_arena_printf(a, "%zu microservice%s", shown, shown == 1 ? "" : "s"));
	add_block(a, m, block(a, "section", shown ? idp_arena_strdup(a, b.ptr) : "No microservice was asked for yet."));
	idp_buf_free(&b);
	return m;
}

/* The newest workflow of the service name (q's arena); false when none. */
static bool newest_workflow(api_req *q, const char *name, idp_store_workflow *w)
{
	int64_t id;
	idp_err err = IDP_ERR_INIT;
	bool found = idp_store_workflow_find(q->cfg->store, "ApplicationClaim", name, NULL, NULL, &id, &err) == 0 &&
		     idp_store_workflow_get(q->cfg->store, q->a, id, w, &err) == 0;
	idp_err_clear(&err);
	return found;
}

static idp_doc_node *microservice_status(api_req *q, const char *name)
{
	idp_arena *a = q->a;
	idp_store_workflow w;
	if (!newest_workflow(q, name, &w))
		return fail_msg(a, idp_arena_printf(a, "no microservice %s was asked for (/microservice list)", name));
	idp_buf b = IDP_BUF_INIT;
	for (size_t i = 0; i < w.n_steps; i++)
		idp_buf_printf(&b, "%s %s%s%s\n", state_icon(w.steps[i].state), w.steps[i].name,
			       w.steps[i].message ? ": " : "", w.steps[i].message ? w.steps[i].message : "");
	const idp_doc_node *app = app_status(api_workflow_env(q->api), a, w.app);
	const char *health = app ? component_health(app, name) : NULL;
	idp_doc_node *m = message(a, false, idp_arena_printf(a, "%s `%s`: %s", state_icon(w.state), name, w.state));
	const char *pairs[] = {"Workflow", idp_arena_printf(a, "%lld (%s)", (long long)w.id, w.state), "Application", w.app,
			       "Health", health ? health : "not running", "Error", w.error};
	add_block(a, m, fields(a, pairs, sizeof pairs / sizeof *pairs));
	add_block(a, m, block(a, "section", b.len ? idp_arena_strdup(a, b.ptr) : "no step ran yet"));
	idp_buf_free(&b);
	return m;
}

static idp_doc_node *microservice_delete(api_req *q, const char *name)
{
	idp_arena *a = q->a;
	idp_store_workflow w;
	idp_err err = IDP_ERR_INIT;
	if (!newest_workflow(q, name, &w))
		return fail_msg(a, idp_arena_printf(a, "no microservice %s was asked for (/microservice list)", name));
	if (strcmp(w.state, "Running") == 0)
		return fail_msg(a, idp_arena_printf(a, "%s's workflow %lld still runs: delete it once it ended", name,
						    (long long)w.id));
	const idp_api_workflow_env *env = api_workflow_env(q->api);
	bool removed;
	int rc = remove_component(env, a, w.app, name, &removed, &err);
	if (rc == 0 && removed)
		rc = sync_container(env, a, w.app, true, &err);
	idp_doc_node *m;
	if (rc)
		m = err_msg(a, &err);
	else if (!removed)
		m = fail_msg(a, idp_arena_printf(a, "%s is not in application %s any more", name, w.app));
	else
		m = message(a, true,
			    idp_arena_printf(a, "🗑️ Microservice `%s` removed from `%s` (committed, synced: its "
						"objects are pruned; its source stays in the repository)",
					     name, w.app));
	idp_err_clear(&err);
	return m;
}

/* ---------------------------------------------------------------- /appcontainer, /vcluster */

/* The application containers: STATE/gitops/<name>-gitops (a). */
static size_t containers(const idp_api_workflow_env *env, idp_arena *a, const char ***out)
{
	char **names;
	size_t n = 0, k = 0;
	*out = NULL;
	if (idp_dir_list(idp_arena_printf(a, "%s/gitops", env->state_dir), &names, &n, NULL) != 0)
		return 0;
	*out = idp_arena_alloc(a, (n + 1) * sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len > 7 && strcmp(names[i] + len - 7, "-gitops") == 0)
			(*out)[k++] = idp_arena_strndup(a, names[i], len - 7);
	}
	idp_dir_list_free(names, n);
	return k;
}

static idp_doc_node *container_help(idp_arena *a)
{
	return help_msg(a, "🤖 AppContainer Management Commands",
			      "`/appcontainer create NAME` — an application container: its GitOps repository and its "
			      "application (services join it with `/microservice create … app NAME`)\n`/appcontainer "
			      "list`\n`/appcontainer status NAME` — health per component\n`/appcontainer delete NAME` — "
			      "stop it (its repositories stay)\n`/appcontainer help`");
}

static idp_doc_node *container_cmd(api_req *q, const char *action, const char *name)
{
	idp_arena *a = q->a;
	const idp_api_workflow_env *env = api_workflow_env(q->api);
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *m;
	if (strcmp(action, "list") == 0) {
		const char **cs;
		size_t n = containers(env, a, &cs);
		idp_buf b = IDP_BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			const idp_doc_node *st = app_status(env, a, cs[i]);
			const char *h = st ? idp_doc_map_get_str(st, "health") : NULL;
			idp_buf_printf(&b, "• `%s`: %s\n", cs[i], h ? h : "not running");
		}
		m = message(a, false, idp_arena_printf(a, "%zu application container%s", n, n == 1 ? "" : "s"));
		add_block(a, m, block(a, "section", n ? idp_arena_strdup(a, b.ptr) : "No application container yet."));
		idp_buf_free(&b);
		return m;
	}
	if (!name || idp_name_check_dns1123_label(name))
		return fail_msg(a, idp_arena_printf(a, "/appcontainer %s needs a NAME (a lower-case DNS label)", action));
	if (strcmp(action, "create") == 0) {
		const char *repo = idp_api_container_repo(a, env, name);
		idp_doc_node *app = idp_api_container_oam(env, a, name);
		int rc = 0;
		if (!app) {
			idp_gitops_init_opts o = {0};
			const char *path;
			idp_buf dir = IDP_BUF_INIT;
			idp_buf_printf(&dir, "%s/gitops", env->state_dir);
			mkdir(dir.ptr, 0700);
			rc = idp_gitops_init(a, name, dir.ptr, &o, env->renderer, &slack_who, &path, &err);
			idp_buf_free(&dir);
		}
		if (rc == 0)
			rc = sync_container(env, a, name, false, &err);
		m = rc ? err_msg(a, &err)
		       : message(a, true,
				 idp_arena_printf(a, "📦 AppContainer `%s` %s: GitOps repository `%s`, application `%s` "
						     "running (its source repository is made with its first service)",
						  name, app ? "is there already" : "created", repo, name));
	} else if (strcmp(action, "status") == 0) {
		const idp_doc_node *st = app_status(env, a, name);
		if (!st)
			return fail_msg(a, idp_arena_printf(a, "no application container %s runs here", name));
		idp_buf b = IDP_BUF_INIT;
		const idp_doc_node *comps = idp_doc_map_get(st, "components");
		for (size_t i = 0; comps && comps->kind == IDP_DOC_SEQ && i < comps->as.seq.len; i++)
			idp_buf_printf(&b, "• %s: %s\n", idp_doc_map_get_str(comps->as.seq.items[i], "name"),
				       idp_doc_map_get_str(comps->as.seq.items[i], "health"));
		m = message(a, false, idp_arena_printf(a, "`%s`: %s", name, idp_doc_map_get_str(st, "health")));
		add_block(a, m, block(a, "section", b.len ? idp_arena_strdup(a, b.ptr) : "no component yet"));
		idp_buf_free(&b);
	} else if (strcmp(action, "delete") == 0) {
		idp_doc_node *req = idp_doc_new_map(a), *reply;
		idp_doc_map_set(a, req, "op", idp_doc_new_str(a, "down"));
		idp_doc_map_set(a, req, "app", idp_doc_new_str(a, name));
		int rc = env->daemon->call(env->daemon->ctx, a, req, &reply, &err);
		m = rc ? err_msg(a, &err)
		       : message(a, true, idp_arena_printf(a, "🛑 AppContainer `%s` stopped and recorded as down (its "
							      "repositories stay)",
							   name));
	} else {
		m = fail_msg(a, idp_arena_printf(a, "Unknown appcontainer command: %s (/appcontainer help)", action));
	}
	idp_err_clear(&err);
	return m;
}

static idp_doc_node *vcluster_help(idp_arena *a)
{
	return help_msg(a, "🤖 VCluster Management Commands",
			      "`/vcluster create NAME [app CONTAINER]` — a vcluster component in the container's "
			      "application (locally: a scope of its own)\n`/vcluster list`\n`/vcluster status NAME`\n"
			      "`/vcluster delete NAME`\n`/vcluster help`");
}

/* The container whose application has a vcluster component name, or NULL. */
static const char *vcluster_home(const idp_api_workflow_env *env, idp_arena *a, const char *name)
{
	const char **cs;
	size_t n = containers(env, a, &cs);
	for (size_t i = 0; i < n; i++) {
		idp_doc_node *app = idp_api_container_oam(env, a, cs[i]), *comps = NULL;
		if (!app || idp_doc_path_get(app, "spec.components", &comps, NULL) != 0 || comps->kind != IDP_DOC_SEQ)
			continue;
		for (size_t k = 0; k < comps->as.seq.len; k++) {
			const char *cn = idp_doc_map_get_str(comps->as.seq.items[k], "name");
			const char *ct = idp_doc_map_get_str(comps->as.seq.items[k], "type");
			if (cn && ct && strcmp(ct, "vcluster") == 0 && (!name || strcmp(cn, name) == 0))
				return cs[i];
		}
	}
	return NULL;
}

static idp_doc_node *vcluster_cmd(api_req *q, const char *action, const char *name, const char *container)
{
	idp_arena *a = q->a;
	const idp_api_workflow_env *env = api_workflow_env(q->api);
	idp_err err = IDP_ERR_INIT;
	idp_doc_node *m;
	if (strcmp(action, "list") == 0) {
		const char **cs;
		size_t n = containers(env, a, &cs), shown = 0;
		idp_buf b = IDP_BUF_INIT;
		for (size_t i = 0; i < n; i++) {
			idp_doc_node *app = idp_api_container_oam(env, a, cs[i]), *comps = NULL;
			if (!app || idp_doc_path_get(app, "spec.components", &comps, NULL) != 0 || comps->kind != IDP_DOC_SEQ)
				continue;
			for (size_t k = 0; k < comps->as.seq.len; k++) {
				const char *ct = idp_doc_map_get_str(comps->as.seq.items[k], "type");
				if (ct && strcmp(ct, "vcluster") == 0)
					idp_buf_printf(&b, "• `%s` in `%s`\n", idp_doc_map_get_str(comps->as.seq.items[k], "name"),
						       cs[i]), shown++;
			}
		}
		m = message(a, false, idp_arena_printf(a, "%zu vcluster%s", shown, shown == 1 ? "" : "s"));
		add_block(a, m, block(a, "section", shown ? idp_arena_strdup(a, b.ptr) : "No vcluster yet."));
		idp_buf_free(&b);
		return m;
	}
	if (!name || idp_name_check_dns1123_label(name))
		return fail_msg(a, idp_arena_printf(a, "/vcluster %s needs a NAME (a lower-case DNS label)", action));
	if (container && idp_name_check_dns1123_label(container))
		return fail_msg(a, idp_arena_printf(a, "\"%s\" is no application container name (a DNS-1123 label)", container));
	const char *home = vcluster_home(env, a, name);
	int rc = 0;
	if (strcmp(action, "create") == 0) {
		if (home)
			return fail_msg(a, idp_arena_printf(a, "vcluster %s exists in %s", name, home));
		home = container ? container : "health-service-idp";
		bool added;
		rc = idp_api_container_add_component(env, a, home, name, "vcluster", "slack", &added, &err);
		if (rc == 0)
			rc = sync_container(env, a, home, false, &err);
		m = rc ? err_msg(a, &err)
		       : message(a, true, idp_arena_printf(a, "🚀 VCluster `%s` created in `%s` (committed, synced)", name, home));
	} else if (!home) {
		m = fail_msg(a, idp_arena_printf(a, "no vcluster %s (/vcluster list)", name));
	} else if (strcmp(action, "status") == 0) {
		const idp_doc_node *st = app_status(env, a, home);
		const char *h = st ? component_health(st, name) : NULL;
		m = message(a, false, idp_arena_printf(a, "`%s` in `%s`: %s", name, home, h ? h : "not running"));
	} else if (strcmp(action, "delete") == 0) {
		bool removed;
		rc = remove_component(env, a, home, name, &removed, &err);
		if (rc == 0)
			rc = sync_container(env, a, home, true, &err);
		m = rc ? err_msg(a, &err)
		       : message(a, true, idp_arena_printf(a, "🗑️ VCluster `%s` removed from `%s` (committed, synced)", name, home));
	} else {
		m = fail_msg(a, idp_arena_printf(a, "Unknown vcluster command: %s (/vcluster help)", action));
	}
	idp_err_clear(&err);
	return m;
}

/* ---------------------------------------------------------------- the routes */

/* 503 without a signing secret, 401 unless the request is signed. */
static bool slack_allowed(api_req *q, api_res *r)
{
	const char *secret = q->cfg->slack_signing_secret;
	if (!secret || !*secret)
		return api_fail(r, 503, "runtime",
				"Slack is not configured: set SLACK_SIGNING_SECRET (or slack.signingSecret in --config)"),
		       false;
	const char *why;
	if (idp_api_slack_verify(secret, q->slack_timestamp, q->slack_signature, q->body, q->body_len, (int64_t)time(NULL),
				 &why) != 0)
		return api_fail(r, 401, "unauthenticated", why), false;
	return true;
}

static const char *word(idp_arena *a, const char **text)
{
	const char *p = *text;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *start = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*text = p;
	char *w = idp_arena_strndup(a, start, (size_t)(p - start));
	for (char *c = w; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return w;
}

int api_slack_command(api_req *q, api_res *r)
{
	if (!slack_allowed(q, r))
		return 0;
	idp_arena *a = q->a;
	const char *command = idp_api_form_get(a, q->body, q->body_len, "command");
	const char *text = idp_api_form_get(a, q->body, q->body_len, "text");
	const char *user = idp_api_form_get(a, q->body, q->body_len, "user_name");
	text = text ? text : "";
	const char *rest = text, *action = word(a, &rest);
	const char *after = rest, *name = word(a, &after), *more = after;
	const char *container = NULL;
	if (strcmp(word(a, &more), "app") == 0)
		container = word(a, &more);
	idp_doc_node *m;
	if (!command)
		m = fail_msg(a, "no command in the request");
	else if (strcmp(command, "/microservice") == 0 || strcmp(command, "/service") == 0) {
		if (!*action || strncmp(action, "help", 4) == 0)
			m = microservice_help(a);
		else if (strcmp(action, "create") == 0)
			m = microservice_create(q, rest, user ? user : "someone");
		else if (strcmp(action, "list") == 0)
			m = microservice_list(q);
		else if ((strcmp(action, "status") == 0 || strcmp(action, "delete") == 0) && !*name)
			m = fail_msg(a, idp_arena_printf(a, "/microservice %s needs a NAME", action));
		else if (strcmp(action, "status") == 0)
			m = microservice_status(q, name);
		else if (strcmp(action, "delete") == 0)
			m = microservice_delete(q, name);
		else
			m = fail_msg(a, idp_arena_printf(a, "Unknown microservice command: %s (/microservice help)", action));
	} else if (strcmp(command, "/appcontainer") == 0 || strcmp(command, "/app-cont") == 0) {
		m = !*action || strncmp(action, "help", 4) == 0 ? container_help(a) : container_cmd(q, action, *name ? name : NULL);
	} else if (strcmp(command, "/vcluster") == 0) {
		m = !*action || strncmp(action, "help", 4) == 0 ? vcluster_help(a)
								 : vcluster_cmd(q, action, *name ? name : NULL, container);
	} else {
		m = fail_msg(a, idp_arena_printf(a, "Unknown command: %s", command));
	}
	return api_json(r, 200, m);
}

int api_slack_events(api_req *q, api_res *r)
{
	if (!slack_allowed(q, r))
		return 0;
	idp_doc_stream s;
	idp_err err = IDP_ERR_INIT;
	if (idp_doc_load(q->a, "request body", q->body, q->body_len, NULL, &s, &err) != 0 || s.len != 1 ||
	    s.docs[0]->kind != IDP_DOC_MAP) {
		idp_err_clear(&err);
		return api_fail(r, 400, "input", "Invalid JSON payload");
	}
	const char *type = idp_doc_map_get_str(s.docs[0], "type");
	idp_doc_node *m = idp_doc_new_map(q->a);
	if (type && strcmp(type, "url_verification") == 0) {
		const char *challenge = idp_doc_map_get_str(s.docs[0], "challenge");
		idp_doc_map_set(q->a, m, "challenge", idp_doc_new_str(q->a, challenge ? challenge : ""));
	} else {
		idp_doc_map_set(q->a, m, "status", idp_doc_new_str(q->a, "ok"));
	}
	return api_json(r, 200, m);
}
