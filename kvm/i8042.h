/* i8042: just enough of the PC keyboard controller for a guest to probe it and to ask
 * for a reset (command 0xfe), which ends the VMM with exit status 0. */
#ifndef RV_I8042_H
#define RV_I8042_H

#include "vm.h"

struct i8042 {
	struct vm *vm;
	uint8_t ctr;      /* controller configuration byte */
	uint8_t out;      /* output buffer */
	bool out_full;
	uint8_t pending;  /* command waiting for its data byte, or 0 */
};

int i8042_create(struct i8042 *k, struct vm *vm, struct engine *e);
extern const struct bus_ops i8042_ops;

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_RESET 0xfe

#endif
