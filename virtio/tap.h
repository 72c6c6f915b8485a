/* tap: the host side of virtio-net, a Linux TAP device. One fd per queue pair
 * (IFF_MULTI_QUEUE), each carrying frames with a 12-byte virtio-net header in front
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ), so guest buffers go to the kernel as they are.
 * Everything here is control path (ioctls at start, at DRIVER_OK and when the driver
 * changes the number of queue pairs); frames move through the engine's ring. */
#ifndef RV_TAP_H
#define RV_TAP_H

#include <stdbool.h>
#include <stdint.h>

#define TAP_MAX_QUEUES 16
#define TAP_VNET_HDR_LEN 12

struct tap {
	char name[16];
	int fds[TAP_MAX_QUEUES];
	unsigned n_fds;
	bool created;        /* it did not exist before: the kernel removes it when we close it */
	bool attached[TAP_MAX_QUEUES];
};

/* Open (or create) the TAP NAME with n queues. 0 or -errno (logged, naming the option). */
int tap_open(struct tap *t, const char *name, unsigned n);
void tap_close(struct tap *t);
/* Host address and netmask (dotted quads; either may be NULL), then link up. */
int tap_configure(struct tap *t, const char *ip, const char *mask);
/* Offloads the guest accepts on receive (TUN_F_* flags). */
int tap_set_offload(struct tap *t, unsigned flags);
/* Attach queues 0..n-1 and detach the rest, so the kernel steers frames only to
 * queues the guest reads. */
int tap_set_active(struct tap *t, unsigned n);

#endif
