/* job_net_echo.c — job=net-echo: a host to talk to. Answers ARP for ip=, ICMP echo
 * requests, and echoes UDP datagrams sent to port= (7) back to their sender; with
 * ping=N it first pings peer= N times (one echo request every 100 ms, each waited for
 * up to 1 s). Runs until a datagram "quit" arrives on the echo port or seconds= (60)
 * pass.
 *   echo arp_replies=N icmp_replies=N udp_echoed=N ping_sent=N ping_replies=N bad_ip=N bad_udp=N */
#include "net.h"

static u16 echo_port;
static u64 echoed;
static int quit;

static void on_udp(struct net_stack *s, u16 q, const u8 *frame, u32 src, u16 sport, u16 dport, const u8 *data, u32 len)
{
    (void)frame;
    if (dport != echo_port)
        return;
    if (len == 4 && data[0] == 'q' && data[1] == 'u' && data[2] == 'i' && data[3] == 't') {
        quit = 1;
        return;
    }
    u32 saved = s->peer_ip;
    if (src != s->peer_ip)
        return; /* we only know the peer's MAC */
    net_udp_send(s, q, dport, sport, data, len);
    s->peer_ip = saved;
    echoed++;
}

int job_net_echo(void)
{
    struct net_opts o;
    net_opts_from_cmdline(&o);
    struct net_stack s = { 0 };
    net_stack_open(&s, &o, "net_echo_needs_ip_and_peer");
    s.udp = on_udp;
    echo_port = (u16)arg_u64("port", 7);
    u64 pings = arg_u64("ping", 0), secs = arg_u64("seconds", 60);
    u64 sent = 0;
    if (pings) {
        if (net_resolve(&s, 5000) < 0)
            fail("arp_no_answer");
        for (u64 i = 0; i < pings; i++) {
            u64 before = s.ping_replies;
            net_send_ping(&s, 0x5256, (u16)(i + 1));
            sent++;
            u64 deadline = rdtsc() + ms_to_tsc(1000);
            while (s.ping_replies == before && (s64)(rdtsc() - deadline) < 0)
                net_poll(&s, 1);
            u64 gap = rdtsc() + ms_to_tsc(100);
            while ((s64)(rdtsc() - gap) < 0)
                net_poll(&s, 1);
        }
        gprintf("ping sent=%lu replies=%lu\n", sent, s.ping_replies);
    }
    gprintf("echo_ready ip=%u.%u.%u.%u port=%u\n", s.ip >> 24, s.ip >> 16 & 255, s.ip >> 8 & 255, s.ip & 255, echo_port);
    u64 end = rdtsc() + ms_to_tsc(secs * 1000);
    while (!quit && (s64)(rdtsc() - end) < 0) {
        net_poll(&s, 1);
        for (u16 q = 0; q < s.dev->pairs; q++)
            net_tx_reclaim(s.dev, q);
    }
    gprintf("echo arp_replies=%lu icmp_replies=%lu udp_echoed=%lu ping_sent=%lu ping_replies=%lu bad_ip=%lu bad_udp=%lu "
            "quit=%d\n", s.arp_replies, s.icmp_replies, echoed, sent, s.ping_replies, s.bad_ip, s.bad_udp, quit);
    if (pings && s.ping_replies < pings)
        fail("ping_lost");
    return 0;
}
