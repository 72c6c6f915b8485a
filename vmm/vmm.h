/* vmm: the VMM process around at most one machine: the control engine (node 0's
 * control ring: signals, the HTTP API, the machine's stop notice), the VM's lifecycle
 * (Created, Running, Paused, Shutdown) and the actions the API and the command line
 * share. A VM from the command line and one from vm.create are the same struct
 * vm_config going through the same create (b_create) and vmm_boot. */
#ifndef RV_VMM_H
#define RV_VMM_H

#include "api/config.h"

/* Run the VMM: boot c's VM if it names a kernel, serve c->api.socket if set, return
 * the process exit status once the VMM ends (see --help). Takes over c's contents. */
int vmm_main(struct vm_config *c);

#endif
