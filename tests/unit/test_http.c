/* Unit tests for the HTTP/1.1 request parser and response writer: whole and partial
 * requests, pipelining, keep-alive, every limit (414/431/413) and malformed input. */
#include "check.h"

#include "api/http.h"

static const struct http_limits lim = { 128, 512, 1000 };

static int parse(const char *s, struct http_request *r, const char **why)
{
	return http_parse(s, strlen(s), &lim, r, why);
}

static void test_http_simple_get(void)
{
	struct http_request r;
	const char *why;
	CHECK_EQ(parse("GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n", &r, &why), HTTP_COMPLETE);
	CHECK(!strcmp(r.method, "GET") && !strcmp(r.path, "/api/v1/vmm.ping"));
	CHECK(r.keep_alive);
	CHECK_EQ(r.content_length, 0);
	CHECK_EQ(r.total_len, strlen("GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n"));
}

static void test_http_body_and_partial(void)
{
	const char *full = "PUT /api/v1/vm.create HTTP/1.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
	struct http_request r;
	const char *why;
	/* Every prefix is incomplete (or headers-only), never an error. */
	for (size_t n = 0; n < strlen(full); n++) {
		int ret = http_parse(full, n, &lim, &r, &why);
		CHECK(ret == HTTP_INCOMPLETE || ret == HTTP_HEADERS);
	}
	CHECK_EQ(http_parse(full, strlen(full), &lim, &r, &why), HTTP_COMPLETE);
	CHECK_EQ(r.content_length, 7);
	CHECK(!memcmp(r.body, "{\"a\":1}", 7));
}

static void test_http_pipelined(void)
{
	const char *two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct http_request r;
	const char *why;
	CHECK_EQ(parse(two, &r, &why), HTTP_COMPLETE);
	CHECK(!strcmp(r.path, "/a"));
	const char *next = two + r.total_len;
	CHECK_EQ(http_parse(next, strlen(next), &lim, &r, &why), HTTP_COMPLETE);
	CHECK(!strcmp(r.path, "/b"));
	CHECK(!r.keep_alive);
}

static void test_http_versions(void)
{
	struct http_request r;
	const char *why;
	CHECK_EQ(parse("GET / HTTP/1.0\r\n\r\n", &r, &why), HTTP_COMPLETE);
	CHECK(!r.keep_alive);
	CHECK_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r, &why), HTTP_COMPLETE);
	CHECK(r.keep_alive);
	CHECK_EQ(parse("GET / HTTP/2.0\r\n\r\n", &r, &why), -505);
	CHECK_EQ(parse("GET / HTTP/1.7\r\n\r\n", &r, &why), -505);
	CHECK_EQ(parse("GET / FTP/1.1\r\n\r\n", &r, &why), -400);
}

static void test_http_limits(void)
{
	struct http_request r;
	const char *why;
	char buf[2048];
	/* Request line over max_line: refused as soon as max_line bytes came without CRLF. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	CHECK_EQ(http_parse(buf, 200, &lim, &r, &why), -414);
	CHECK_EQ(http_parse(buf, 100, &lim, &r, &why), HTTP_INCOMPLETE);
	/* Headers over max_header. */
	int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-Big: ");
	memset(buf + n, 'b', 600);
	CHECK_EQ(http_parse(buf, (size_t)n + 600, &lim, &r, &why), -431);
	/* A complete header line that ends past the limit too. */
	memcpy(buf + n + 600, "\r\n\r\n", 4);
	CHECK_EQ(http_parse(buf, (size_t)n + 604, &lim, &r, &why), -431);
	/* Body over max_body: refused from the headers alone. */
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", &r, &why), -413);
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r, &why), -400);
}

static void test_http_malformed(void)
{
	struct http_request r;
	const char *why;
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n", " / HTTP/1.1\r\n\r\n", "GET  HTTP/1.1\r\n\r\n", "GET /\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
		"GET / HTTP/1.1\r\n: v\r\n\r\n", "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length: x\r\n\r\n", "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i], &r, &why);
		if (ret != -400)
			printf("# case %zu: %d\n", i, ret);
		CHECK_EQ(ret, -400);
		CHECK(why && *why);
	}
	/* A NUL inside the method or a header name is not a token character. */
	static const char nul_method[] = "PUT\0junk / HTTP/1.1\r\n\r\n", nul_header[] = "GET / HTTP/1.1\r\nA\0b: c\r\n\r\n";
	CHECK_EQ(http_parse(nul_method, sizeof(nul_method) - 1, &lim, &r, &why), -400);
	CHECK_EQ(http_parse(nul_header, sizeof(nul_header) - 1, &lim, &r, &why), -400);
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r, &why), -501);
	/* Same Content-Length twice is fine. */
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", &r, &why), HTTP_COMPLETE);
}

static void test_http_expect_continue(void)
{
	struct http_request r;
	const char *why;
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", &r, &why), HTTP_HEADERS);
	CHECK(r.expect_continue);
}

static void test_http_response(void)
{
	size_t len;
	char *s = http_response(200, "{}", 2, true, &len);
	CHECK(s);
	const char *want = "HTTP/1.1 200 OK\r\nServer: ringvisor\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	CHECK_EQ(len, strlen(want));
	CHECK(!memcmp(s, want, len));
	free(s);
	s = http_response(204, NULL, 0, false, &len);
	want = "HTTP/1.1 204 No Content\r\nServer: ringvisor\r\nConnection: close\r\n\r\n";
	CHECK_EQ(len, strlen(want));
	CHECK(!memcmp(s, want, len));
	free(s);
	s = http_response(100, NULL, 0, true, &len);
	CHECK_EQ(len, strlen("HTTP/1.1 100 Continue\r\n\r\n"));
	free(s);
}

int main(void)
{
	RUN(test_http_simple_get);
	RUN(test_http_body_and_partial);
	RUN(test_http_pipelined);
	RUN(test_http_versions);
	RUN(test_http_limits);
	RUN(test_http_malformed);
	RUN(test_http_expect_continue);
	RUN(test_http_response);
	CHECK_EXIT();
}
