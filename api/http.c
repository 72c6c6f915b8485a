/* http: see http.h. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char *find_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

static bool is_token_char(char c)
{
	/* c != 0: strchr finds the terminating NUL too, which would let "PUT\0junk" pass as PUT. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_request_line(const char *p, const char *eol, struct http_request *req, const char **why)
{
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof(req->method)) {
		*why = "malformed request line";
		return -400;
	}
	for (const char *c = p; c < sp1; c++)
		if (!is_token_char(*c)) {
			*why = "malformed method";
			return -400;
		}
	memcpy(req->method, p, (size_t)(sp1 - p));
	req->method[sp1 - p] = 0;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (!sp2 || sp2 == target) {
		*why = "malformed request line";
		return -400;
	}
	if ((size_t)(sp2 - target) >= sizeof(req->path)) {
		*why = "request target too long";
		return -414;
	}
	for (const char *c = target; c < sp2; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f) {
			*why = "malformed request target";
			return -400;
		}
	memcpy(req->path, target, (size_t)(sp2 - target));
	req->path[sp2 - target] = 0;
	const char *ver = sp2 + 1;
	if (eol - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0) {
		*why = "malformed HTTP version";
		return (eol - ver == 8 && !memcmp(ver, "HTTP/", 5)) ? -505 : -400;
	}
	if (ver[7] != '0' && ver[7] != '1') {
		*why = "only HTTP/1.0 and HTTP/1.1 are supported";
		return -505;
	}
	req->minor = ver[7] - '0';
	req->keep_alive = req->minor == 1;
	return 0;
}

/* value of a header, trimmed of optional whitespace */
static void trim(const char **v, const char **vend)
{
	while (*v < *vend && (**v == ' ' || **v == '\t'))
		(*v)++;
	while (*vend > *v && ((*vend)[-1] == ' ' || (*vend)[-1] == '\t'))
		(*vend)--;
}

static bool value_is(const char *v, const char *vend, const char *word)
{
	size_t n = strlen(word);
	return (size_t)(vend - v) == n && !strncasecmp(v, word, n);
}

static int parse_header(const char *p, const char *eol, struct http_request *req, bool *seen_length,
			const char **why)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	if (!colon || colon == p) {
		*why = "malformed header line";
		return -400;
	}
	for (const char *c = p; c < colon; c++)
		if (!is_token_char(*c)) {
			*why = "malformed header name";
			return -400;
		}
	size_t nlen = (size_t)(colon - p);
	const char *v = colon + 1, *vend = eol;
	trim(&v, &vend);
	if (nlen == 14 && !strncasecmp(p, "Content-Length", 14)) {
		size_t n = 0;
		if (v == vend) {
			*why = "empty Content-Length";
			return -400;
		}
		for (const char *c = v; c < vend; c++) {
			if (*c < '0' || *c > '9' || n > ((size_t)1 << 40)) {
				*why = "Content-Length is not a number";
				return -400;
			}
			n = n * 10 + (size_t)(*c - '0');
		}
		if (*seen_length && n != req->content_length) {
			*why = "conflicting Content-Length headers";
			return -400;
		}
		*seen_length = true;
		req->content_length = n;
	} else if (nlen == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
		*why = "Transfer-Encoding is not supported: send the body with Content-Length";
		return -501;
	} else if (nlen == 10 && !strncasecmp(p, "Connection", 10)) {
		if (value_is(v, vend, "close"))
			req->keep_alive = false;
		else if (value_is(v, vend, "keep-alive"))
			req->keep_alive = true;
	} else if (nlen == 6 && !strncasecmp(p, "Expect", 6)) {
		if (value_is(v, vend, "100-continue"))
			req->expect_continue = true;
	}
	return 0;
}

int http_parse(const char *buf, size_t len, const struct http_limits *lim, struct http_request *req,
	       const char **why)
{
	const char *end = buf + len, *p = buf, *eol;
	bool seen_length = false;
	int ret;

	memset(req, 0, sizeof(*req));
	*why = "";
	/* Tolerate empty lines before a request (RFC 9112 2.2). */
	while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	eol = find_crlf(p, end);
	if (!eol) {
		if ((size_t)(end - buf) >= lim->max_line) {
			*why = "request line too long";
			return -414;
		}
		return HTTP_INCOMPLETE;
	}
	if ((size_t)(eol + 2 - buf) > lim->max_line) {
		*why = "request line too long";
		return -414;
	}
	if ((ret = parse_request_line(p, eol, req, why)) < 0)
		return ret;
	p = eol + 2;
	for (;;) {
		eol = find_crlf(p, end);
		if (!eol) {
			if ((size_t)(end - buf) >= lim->max_header) {
				*why = "request headers too large";
				return -431;
			}
			return HTTP_INCOMPLETE;
		}
		if ((size_t)(eol + 2 - buf) > lim->max_header) {
			*why = "request headers too large";
			return -431;
		}
		if (eol == p)
			break;
		if (*p == ' ' || *p == '\t') {
			*why = "obsolete header line folding";
			return -400;
		}
		if ((ret = parse_header(p, eol, req, &seen_length, why)) < 0)
			return ret;
		p = eol + 2;
	}
	req->header_len = (size_t)(eol + 2 - buf);
	if (req->content_length > lim->max_body) {
		*why = "request body too large";
		return -413;
	}
	req->total_len = req->header_len + req->content_length;
	req->body = buf + req->header_len;
	return len >= req->total_len ? HTTP_COMPLETE : HTTP_HEADERS;
}

char *http_response(int status, const char *body, size_t body_len, bool keep_alive, size_t *out_len)
{
	/* An interim answer carries no headers: the final one follows on the same connection. */
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *conn = keep_alive ? "" : "Connection: close\r\n";
	char head[256];
	int n;

	if (status == 100) {
		char *out = strdup(cont);
		if (out)
			*out_len = sizeof(cont) - 1;
		return out;
	}
	if (status == 204) {
		/* RFC 9110 8.6: a 204 carries neither a body nor a Content-Length. */
		body_len = 0;
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: ringvisor\r\n%s\r\n", status,
			     http_reason(status), conn);
	} else {
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: ringvisor\r\n%s%sContent-Length: %zu\r\n\r\n",
			     status, http_reason(status), body_len ? "Content-Type: application/json\r\n" : "", conn,
			     body_len);
	}
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	char *out = malloc((size_t)n + body_len);
	if (!out)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (body_len)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}
