/* http: an HTTP/1.1 request parser and response writer, pure functions over buffers.
 * The parser is re-run over the bytes received so far until it finds a whole request
 * (request line, headers, Content-Length body); limits are checked as bytes arrive, so
 * an oversized request is refused before it is all read. No chunked bodies. */
#ifndef RV_HTTP_H
#define RV_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_limits {
	size_t max_line;    /* request line, CRLF included (414 beyond) */
	size_t max_header;  /* request line + headers + blank line (431 beyond) */
	size_t max_body;    /* Content-Length (413 beyond) */
};

#define HTTP_MAX_PATH 256

struct http_request {
	char method[16];
	char path[HTTP_MAX_PATH];
	int minor;             /* HTTP/1.minor */
	bool keep_alive;
	bool expect_continue;  /* "Expect: 100-continue" */
	size_t header_len;     /* bytes up to and including the blank line */
	size_t content_length;
	const char *body;      /* into the buffer; content_length bytes */
	size_t total_len;      /* header_len + content_length: where the next request starts */
};

enum { HTTP_INCOMPLETE = 0, HTTP_HEADERS = 1, HTTP_COMPLETE = 2 };

/* Parse buf[0..len). Returns HTTP_INCOMPLETE (need more, nothing known yet),
 * HTTP_HEADERS (headers complete, body still arriving: req describes it),
 * HTTP_COMPLETE (req filled), or -status for a request to refuse (400, 413, 414, 431,
 * 501, 505). *why gets a static reason for the error body. */
int http_parse(const char *buf, size_t len, const struct http_limits *lim, struct http_request *req,
	       const char **why);

const char *http_reason(int status);

/* A response with a JSON (or empty) body, or the bare interim "100 Continue"; returns a
 * malloc'd buffer and its length in *out_len, or NULL when out of memory. */
char *http_response(int status, const char *body, size_t body_len, bool keep_alive, size_t *out_len);

#endif
