/* server: the HTTP API on a Unix socket, served as ops on an engine's ring: one
 * multishot accept, then per connection a recv or a send at a time. Each connection has
 * a deadline; one ring timeout sweeps them and cancels the recv or send of a client that
 * stalled, so it is closed when its time is up and costs the engine nothing meanwhile. Requests go to routes.c; limits are answered 413/414/431
 * (request too large) and 503 (too many connections). Engine thread only. */
#ifndef RV_SERVER_H
#define RV_SERVER_H

#include "engine/engine.h"
#include "http.h"
#include "routes.h"

struct api_server_options {
	const char *path;
	unsigned timeout_ms;       /* per request (from the previous reply or accept) and per reply */
	unsigned max_connections;
	struct http_limits limits;
};

struct api_server_stats {
	uint64_t accepted, refused, requests, timeouts, errors;
};

struct api_server;

/* Bind (replacing a stale socket file, refusing a live one) and start accepting.
 * 0 or -errno with the reason logged. */
int api_server_start(struct api_server **out, struct engine *e, const struct api_server_options *o,
		     const struct api_backend *b);
/* Is an answer still on its way out (so the VMM should not exit yet)? */
bool api_server_sending(const struct api_server *s);
/* After the engine has stopped: close every connection, remove the socket file. */
void api_server_destroy(struct api_server *s);
const struct api_server_stats *api_server_stats(const struct api_server *s);

#define API_DEFAULT_MAX_LINE 1024
#define API_DEFAULT_MAX_HEADER 8192
#define API_DEFAULT_MAX_BODY (1u << 20)

#endif
