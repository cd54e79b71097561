/* Kubernetes name rules, as k8s.io/apimachinery/pkg/util/validation checks them.
 * Names become paths and hostnames, so they are checked before any use. */
#include "base/base.h"

#include <string.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_label_shaped(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

const char *idp_name_check_dns1123_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	if (!is_label_shaped(s, n))
		return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
		       "'-', and must start and end with an alphanumeric character";
	return NULL;
}

const char *idp_name_check_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return "must be no more than 253 characters";
	const char *msg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
			  "characters, '-' or '.', and must start and end with an alphanumeric character";
	if (n == 0)
		return msg;
	const char *part = s;
	for (;;) {
		const char *dot = strchr(part, '.');
		size_t len = dot ? (size_t)(dot - part) : strlen(part);
		if (!is_label_shaped(part, len))
			return msg;
		if (!dot)
			return NULL;
		part = dot + 1;
	}
}

const char *idp_name_check_dns1035_label(const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	if (!is_label_shaped(s, n) || !(s[0] >= 'a' && s[0] <= 'z'))
		return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
		       "with an alphabetic character, and end with an alphanumeric character";
	return NULL;
}

const char *idp_name_check_path_segment(const char *s)
{
	if (!*s)
		return "may not be empty";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "may not be '.' or '..'";
	if (strchr(s, '/') || strchr(s, '%'))
		return "may not contain '/' or '%'";
	return NULL;
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters. */
static const char *check_name_part(const char *s, size_t n)
{
	if (n == 0)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return "name part must start and end with an alphanumeric character";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "name part must consist of alphanumeric characters, '-', '_' or '.'";
	return NULL;
}

const char *idp_name_check_qualified(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return check_name_part(s, strlen(s));
	if (strchr(slash + 1, '/'))
		return "a qualified name may contain at most one '/'";
	size_t plen = (size_t)(slash - s);
	if (plen == 0)
		return "prefix part must be non-empty";
	char prefix[254];
	if (plen > 253)
		return "prefix part must be no more than 253 characters";
	memcpy(prefix, s, plen);
	prefix[plen] = '\0';
	if (idp_name_check_dns1123_subdomain(prefix))
		return "prefix part must be a lowercase RFC 1123 subdomain";
	return check_name_part(slash + 1, strlen(slash + 1));
}

const char *idp_name_check_label_value(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return NULL;
	const char *msg = check_name_part(s, n);
	return msg ? "a valid label value must be 63 characters or less, and consist of alphanumeric "
		     "characters, '-', '_' or '.', starting and ending with an alphanumeric character"
		   : NULL;
}
