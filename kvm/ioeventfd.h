/* ioeventfd: guest writes KVM turns into eventfd signals with no userspace exit (virtqueue
 * notifications); the engine reads the eventfds on its ring. */
#ifndef RV_IOEVENTFD_H
#define RV_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>

/* An eventfd that KVM signals on a write of len bytes (0: any length) at addr.
 * Returns the fd, or -errno with the reason logged. */
int ioeventfd_create(int vm_fd, uint64_t addr, unsigned len, bool pio);
void ioeventfd_destroy(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio);
/* The same, signalled only when the value written is value (one register, many queues:
 * virtio-mmio's QueueNotify). */
int ioeventfd_create_match(int vm_fd, uint64_t addr, unsigned len, bool pio, uint64_t value);
void ioeventfd_destroy_match(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio, uint64_t value);

#endif
