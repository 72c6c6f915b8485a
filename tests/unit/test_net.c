/* Unit tests for virtio-net's pure parts: the --net option (what it puts in the
 * NetConfig, every malformed value refused) and the check of a guest's TX header
 * against the negotiated features. */
#include "check.h"

#include "api/cli.h"
#include "virtio/net.h"

static enum cli_result parse(struct vm_config *c, const char *const *args)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "ringvisor";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	config_init(c);
	return cli_parse(argc, argv, c);
}

static void test_net_option(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", "--net",
			       "tap=tap7,mac=52:54:00:ab:cd:ef,ip=172.30.1.1,mask=255.255.255.0,num_queues=4,queue_size=512,id=lan",
			       "--net", "tap=tap8", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK_EQ(c.n_nets, 2);
	CHECK(!strcmp(c.nets[0].tap, "tap7") && !strcmp(c.nets[0].id, "lan"));
	CHECK(!strcmp(c.nets[0].ip, "172.30.1.1") && !strcmp(c.nets[0].mask, "255.255.255.0"));
	CHECK_EQ(c.nets[0].has_mac, 1);
	CHECK_EQ(c.nets[0].mac[0], 0x52);
	CHECK_EQ(c.nets[0].mac[5], 0xef);
	CHECK_EQ(c.nets[0].num_queues, 4);
	CHECK_EQ(c.nets[0].queue_size, 512);
	CHECK(!strcmp(c.nets[1].id, "net1") && !strcmp(c.nets[1].tap, "tap8"));
	CHECK_EQ(c.nets[1].has_mac, 0);
	CHECK_EQ(c.nets[1].num_queues, 0);
	CHECK(!c.nets[1].ip && !c.nets[1].mask);
	config_free(&c);
}

static void test_net_option_errors(void)
{
	static const char *const bad[] = {
		"mac=52:54:00:00:00:01",                  /* no tap */
		"tap=t,mac=01:00:5e:00:00:01",            /* multicast */
		"tap=t,mac=52:54:00:00:00",               /* short */
		"tap=t,mac=52:54:00:00:00:01:02",         /* long */
		"tap=t,mac=zz:54:00:00:00:01",
		"tap=t,mac=-2:00:00:00:00:00",            /* sscanf's %x took signs ... */
		"tap=t,mac=+2:+0:+0:+0:+0:+1",
		"tap=t,mac= 2:00:00:00:00:00",            /* ... and blanks */
		"tap=t,mac=52-54-00-00-00-01",
		"tap=t,num_queues=3", "tap=t,num_queues=0", "tap=t,num_queues=34", "tap=t,num_queues=x",
		"tap=t,queue_size=100", "tap=t,queue_size=2048", "tap=t,queue_size=1",
		"tap=t,ip=10.0.0.1",                      /* ip without mask */
		"tap=t,mask=255.0.0.0",
		"tap=t,ip=10.0.0.300,mask=255.0.0.0",
		"tap=0123456789abcdef",                   /* 16 characters: too long for a Linux name */
		"tap=", "tap=t,id=", "tap=t,bogus=1",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config c;
		const char *args[] = { "--kernel", "k", "--net", bad[i], NULL };
		if (parse(&c, args) != CLI_ERROR) {
			printf("FAIL %s: --net %s was accepted\n", check_current, bad[i]);
			check_current_failed = 1;
		}
		config_free(&c);
	}
}

static void test_net_tx_check(void)
{
	const uint64_t none = 0, csum = VIRTIO_NET_F_CSUM;
	const uint64_t tso = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6;
	struct net_hdr h;

	memset(&h, 0, sizeof(h));
	CHECK(net_tx_check(&h, none, 60) == NULL);
	CHECK(net_tx_check(&h, none, 14) == NULL);
	CHECK(net_tx_check(&h, none, NET_MAX_FRAME) == NULL);
	CHECK(net_tx_check(&h, none, 13) != NULL);                     /* shorter than Ethernet */
	CHECK(net_tx_check(&h, none, NET_MAX_FRAME + 1) != NULL);      /* oversize without GSO */
	CHECK(net_tx_check(&h, tso, NET_MAX_FRAME + 1) == NULL);       /* fine with GSO offered */
	CHECK(net_tx_check(&h, tso, NET_MAX_GSO_FRAME + 1) != NULL);
	h.flags = 0x80;
	CHECK(net_tx_check(&h, csum, 60) != NULL);                     /* unknown flag */
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	CHECK(net_tx_check(&h, csum, 60) != NULL);                     /* RX-only flag */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34, h.csum_offset = 6;
	CHECK(net_tx_check(&h, none, 60) != NULL);                     /* CSUM not negotiated */
	CHECK(net_tx_check(&h, csum, 60) == NULL);
	CHECK(net_tx_check(&h, csum, 41) != NULL);                     /* field ends past the frame */
	CHECK(net_tx_check(&h, csum, 42) == NULL);
	h.csum_start = 0xffff, h.csum_offset = 0xffff;                 /* no 16-bit wrap-around */
	CHECK(net_tx_check(&h, csum, 60) != NULL);
	h.csum_start = 34, h.csum_offset = 16;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, h.gso_size = 1448, h.hdr_len = 66;
	CHECK(net_tx_check(&h, csum, 9000) != NULL);                   /* TSO4 not negotiated */
	CHECK(net_tx_check(&h, tso, 9000) == NULL);
	h.gso_size = 0;
	CHECK(net_tx_check(&h, tso, 9000) != NULL);                    /* impossible segment size */
	h.gso_size = 9000;
	CHECK(net_tx_check(&h, tso, 9000) != NULL);
	h.gso_size = 1448;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	CHECK(net_tx_check(&h, tso, 9000) != NULL);                    /* ECN not negotiated */
	CHECK(net_tx_check(&h, tso | VIRTIO_NET_F_HOST_ECN, 9000) == NULL);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(net_tx_check(&h, tso, 9000) == NULL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	CHECK(net_tx_check(&h, tso, 9000) != NULL);                    /* UFO not negotiated */
	CHECK(net_tx_check(&h, tso | VIRTIO_NET_F_HOST_UFO, 9000) == NULL);
	h.gso_type = 2;
	CHECK(net_tx_check(&h, tso | VIRTIO_NET_F_HOST_UFO, 9000) != NULL); /* no such GSO type */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, h.flags = 0;
	CHECK(net_tx_check(&h, tso, 9000) != NULL);                    /* GSO without a checksum request */
}

int main(void)
{
	RUN(test_net_option);
	RUN(test_net_option_errors);
	RUN(test_net_tx_check);
	CHECK_EXIT();
}
