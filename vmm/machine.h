/* machine: builds a VM from a vm_config (KVM, RAM, engines, legacy devices, vCPUs,
 * kernel), runs it until it stops, and tears it down in order. */
#ifndef RV_MACHINE_H
#define RV_MACHINE_H

#include "api/config.h"

/* Returns the VMM's exit status (see enum vm_exit; 1 when the VM could not start). */
int machine_run(const struct vm_config *c);

#endif
