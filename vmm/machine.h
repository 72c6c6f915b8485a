/* machine: builds a VM from a vm_config (KVM, RAM, its engine, legacy devices, disks,
 * vCPUs, kernel), boots, pauses and stops it, and tears it down in order. All calls
 * come from the VMM's control thread; on_stop may run on any thread. */
#ifndef RV_MACHINE_H
#define RV_MACHINE_H

#include "api/config.h"

#include <stdbool.h>

struct machine;
struct blk_dev;

/* Build the VM (nothing runs yet). boot counts the boots of this VM in this process (0:
 * the first; a reboot rebuilds the machine with boot + 1). on_stop(ctx) is called once,
 * on the thread that ends the VM, when it starts to stop. 0 or -errno (reason logged). */
int machine_create(const struct vm_config *c, unsigned boot, void (*on_stop)(void *ctx), void *ctx,
		   struct machine **out);
/* Start the engine and the vCPUs. */
int machine_boot(struct machine *m);
/* vCPUs out of KVM_RUN and waiting / running again; devices keep being served. */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
bool machine_stopping(struct machine *m);
void machine_request_stop(struct machine *m, int code, const char *why);
/* Wait for a stopping machine to stop (vCPUs joined, console and log flushed, engine
 * stopped); returns the VMM exit status it asks for (enum vm_exit or the exit port). */
int machine_finish(struct machine *m);
/* Stop if needed, tear down and free. NULL is fine. */
void machine_destroy(struct machine *m);

/* Devices, for counters (read on the control thread while the engine runs: each
 * counter is one aligned 64-bit word written only by the engine). */
unsigned machine_disks(const struct machine *m);
const struct blk_dev *machine_disk(const struct machine *m, unsigned i);
struct net_dev;
unsigned machine_nets(const struct machine *m);
const struct net_dev *machine_net(const struct machine *m, unsigned i);
/* Press the ACPI power button (GED event; the guest should power off). Any thread: it is
 * posted to the machine's engine. */
void machine_power_button(struct machine *m);
/* Did the VM stop because it asked to reboot (ACPI reset register, vm.reboot)? */
bool machine_wants_reboot(struct machine *m);

#endif
