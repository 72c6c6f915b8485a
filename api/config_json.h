/* config_json: Cloud Hypervisor's VmConfig JSON <-> struct vm_config. Every field CH
 * defines is known here: the ones ringvisor implements are parsed and range-checked,
 * harmless ones are accepted and ignored, and the ones that would change the VM are
 * refused unless they hold their default. Errors name the field, e.g.
 * "cpus.boot_vcpus: must be an integer from 1 to 254". */
#ifndef RV_CONFIG_JSON_H
#define RV_CONFIG_JSON_H

#include "config.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parse into c (initialised by the caller with config_init; defaults stay for fields
 * not given). 0, or -EINVAL with a message in err. Files named must exist and be
 * readable (disks without readonly writable too). */
int config_from_json(const char *text, size_t len, struct vm_config *c, char *err, size_t errlen);
/* The VmConfig object for vm.info. */
cJSON *config_to_json(const struct vm_config *c);

#endif
