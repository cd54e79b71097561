/* API tokens: "idp_<name>_<secret>". The name finds the row; the secret's
 * hash is compared with sodium_memcmp, so how long a check takes says
 * nothing about how much of a guess was right. */
#include "api/api.h"
#include "api/api_private.h"

#include <sodium.h>
#include <string.h>

#define SECRET_BYTES 32
#define HASH_BYTES crypto_generichash_BYTES

static void hash_secret(const char *name, const char *secret, unsigned char out[HASH_BYTES])
{
	/* Keyed by the name: a row's hash does not verify under another name. */
	crypto_generichash(out, HASH_BYTES, (const unsigned char *)secret, strlen(secret), (const unsigned char *)name,
			   strlen(name));
}

int idp_api_token_create(idp_store *s, idp_arena *a, const char *name, const char **token, idp_err *err)
{
	const char *why = idp_name_check_dns1123_label(name);
	if (why)
		return idp_err_set(err, IDP_EINPUT, "token name \"%s\": %s", name, why);
	unsigned char raw[SECRET_BYTES];
	randombytes_buf(raw, sizeof raw);
	char secret[sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(secret, sizeof secret, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	/* '_' may occur in the secret, never in the name: the first one after
	 * "idp_" ends the name. */
	for (char *p = secret; *p; p++)
		if (*p == '_')
			*p = '.';
	unsigned char h[HASH_BYTES];
	hash_secret(name, secret, h);
	int rc = idp_store_token_add(s, name, h, sizeof h, err);
	if (rc == 0)
		*token = idp_arena_printf(a, "idp_%s_%s", name, secret);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(secret, sizeof secret);
	return rc;
}

int idp_api_token_check(idp_store *s, idp_arena *a, const char *token, const char **name, idp_err *err)
{
	const char *sep = strncmp(token, "idp_", 4) == 0 ? strchr(token + 4, '_') : NULL;
	if (!sep || sep - token - 4 > 63)
		return IDP_ENOTFOUND;
	const char *who = idp_arena_strndup(a, token + 4, (size_t)(sep - token - 4));
	const unsigned char *stored;
	size_t len;
	int rc = idp_store_token_hash(s, a, who, &stored, &len, err);
	if (rc)
		return rc;
	unsigned char h[HASH_BYTES];
	hash_secret(who, sep + 1, h);
	if (len != sizeof h || sodium_memcmp(h, stored, sizeof h) != 0)
		return IDP_ENOTFOUND;
	*name = who;
	return 0;
}
