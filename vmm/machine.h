/* machine: builds a VM from a vm_config (KVM, RAM, engines, legacy devices, vCPUs,
 * kernel), runs it until it stops, and tears it down in order. */
#ifndef RV_MACHINE_H
#define RV_MACHINE_H

#include "api/config.h"

/* Returns the VMM's exit status (see enum vm_exit; 1 when the VM could not start). A reboot
 * (vm_request_reboot()) tears the machine down and builds it again from c, in a loop. */
int machine_run(const struct vm_config *c);

struct machine;
/* On the machine's engine thread: press the ACPI power button (SIGPWR does today; the
 * API's vm.power-button can too). */
void machine_power_button(struct machine *m);

#endif
