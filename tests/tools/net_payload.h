/* net_payload.h — the UDP payload of the guest kit's floods (tests/guest/net.h has the
 * guest's copy), for the host tools that speak it: net_peer and tap_guest. Every
 * datagram starts with this header; every body byte after it is a function of the flow
 * and the offset, so a receiver checks the whole datagram. */
#ifndef RV_TOOLS_NET_PAYLOAD_H
#define RV_TOOLS_NET_PAYLOAD_H

#include <stdint.h>
#include <string.h>

#define MAGIC 0x544e5652u
#define F_END 1
#define F_HELLO 2
#define F_ACK 4

struct payload { uint32_t magic, flow; uint64_t seq; uint32_t len, flags, check, rsvd; };

static inline uint32_t check_word(uint64_t seq, uint32_t flow, uint32_t len, uint32_t flags)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull ^ ((uint64_t)flow << 40 | (uint64_t)len << 8 | flags);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(x ^ x >> 29);
}

static inline uint8_t body_byte(uint32_t flow, uint32_t i) { return (uint8_t)(i * 7u + flow * 13u + 0x5au); }

static inline void stamp(void *p, uint32_t len, uint32_t flow, uint64_t seq, uint32_t flags)
{
	struct payload h = { MAGIC, flow, seq, len, flags, check_word(seq, flow, len, flags), 0 };
	memcpy(p, &h, sizeof(h));
}

/* 0 if p[0..len) is a whole, intact datagram (h gets its header), else -1. */
static inline int verify(const uint8_t *p, uint32_t len, struct payload *h)
{
	if (len < sizeof(*h))
		return -1;
	memcpy(h, p, sizeof(*h));
	if (h->magic != MAGIC || h->len != len || h->check != check_word(h->seq, h->flow, h->len, h->flags))
		return -1;
	for (uint32_t i = sizeof(*h); i < len; i++)
		if (p[i] != body_byte(h->flow, i))
			return -1;
	return 0;
}

#endif
